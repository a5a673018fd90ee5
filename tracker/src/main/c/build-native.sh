#!/bin/sh
# Builds a shared library of pagemark's native code with gcc; run by the Maven build (tracker/pom.xml).
# Usage: build-native.sh OUTPUT.so SOURCE... [-Iinclude-dir]; a SOURCE that is a directory means every .c file in it.
set -eu
if ! command -v gcc >/dev/null 2>&1; then
    echo "pagemark: gcc not found on PATH: the native library (tracker/src/main/c) needs it; install gcc (Debian/Ubuntu: apt-get install gcc)" >&2
    exit 1
fi
output=$1
shift
for argument in "$@"; do
    shift
    if [ -d "$argument" ]; then
        for source in "$argument"/*.c; do set -- "$@" "$source"; done
    else
        set -- "$@" "$argument"
    fi
done
mkdir -p "$(dirname "$output")"
# -z now: every symbol is bound at load time, so no signal handler ever enters the lazy binder.
exec gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -fvisibility=hidden -pthread -shared \
    -Wl,-z,now -Wl,-z,relro -Wl,-z,noexecstack -o "$output" "$@"
