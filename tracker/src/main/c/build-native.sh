#!/bin/sh
# Builds pagemark's native code with gcc; run by the Maven build (tracker/pom.xml: the library; jmh/pom.xml: the
# C reference program). Usage: build-native.sh OUTPUT SOURCE... [-Iinclude-dir]; a SOURCE that is a directory means
# every .c file in it. An OUTPUT ending in .so is a shared library, any other an executable.
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
case "$output" in
    *.so) kind="-fPIC -fvisibility=hidden -shared" ;;
    *) kind="" ;;
esac
# -z now: every symbol is bound at load time, so no signal handler ever enters the lazy binder.
# shellcheck disable=SC2086 # $kind is a list of flags
exec gcc -std=gnu11 -O2 -g -Wall -Wextra -Werror $kind -pthread \
    -Wl,-z,now -Wl,-z,relro -Wl,-z,noexecstack -o "$output" "$@"
