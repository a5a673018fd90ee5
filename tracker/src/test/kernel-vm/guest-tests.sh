#!/bin/bash
# guest-tests.sh [--kernel debian-6.1] [CONSOLE-LAUNCHER-OPTION...]
#
# The guest half of the test command: runs the kernel-matrix tests of the tracker and of the oracle
# (tracker/cli) (the test classes tagged "kernel-matrix", see io.pagemark.KernelMatrix) inside a guest
# kernel (vmrun.sh), with plain java and the JUnit console launcher, on the classes the host build
# compiled: Maven inside the emulated guest would take minutes. Needs `./mvnw -pl tracker/cli -am
# test-compile` (or test) first, and JAVA_HOME set to the JDK 25+ that compiled them. Extra options go
# to the console launcher, e.g. to run one class:
#   guest-tests.sh --select-class=io.pagemark.SoftDirtyTrackerTest   (only kernel-matrix classes run)
# The JUnit XML reports come back to tracker/cli/target/kernel-vm/reports-<kernel>/.
# Exit status: 0 when every test passed, 1 when one failed, 2 when none ran, 125 (one line says why)
# when the guest could not run.
#
# Startup under software emulation is most of the cost, so two things cut it:
#  - an AOT cache of the JDK and launcher classes (JDK 25, -XX:AOTCache), trained on the host with the
#    same JDK and class path and kept in target/kernel-vm; it is only an accelerator: a stale or
#    rejected cache leaves the guest JVM to load classes the slow way;
#  - C1 only (-XX:TieredStopAtLevel=1): C2 compilations cost more under emulation than they return
#    in a run this short.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=$(cd "$HERE/../../.." && pwd)/cli/target
KERNEL=debian-6.1
if [ "${1:-}" = --kernel ]; then KERNEL=${2:?--kernel needs a name}; shift 2; fi
fail() { echo "kernel-vm: $*" >&2; exit 125; }

ENV_FILE=$TARGET/kernel-vm/guest-tests.env
[ -f "$ENV_FILE" ] || fail "no $ENV_FILE: build the tests first (./mvnw -pl tracker/cli -am test-compile)"
# shellcheck source=guest-tests.env
. "$ENV_FILE"
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/java}
[ -x "${JAVA:-}" ] || fail "set JAVA_HOME to the JDK 25+ that compiled the tests (or run ./pagemark test)"
# shellcheck disable=SC2206
JVM=($RUN_FLAGS -XX:TieredStopAtLevel=1 -cp "$LAUNCHER_JAR")
LAUNCH=(org.junit.platform.console.ConsoleLauncher execute --disable-banner --disable-ansi-colors
        --include-engine=junit-jupiter --class-path="$TEST_CLASS_PATH" --include-tag=kernel-matrix)
# Every kernel-matrix class, unless the options select some (the launcher takes one or the other).
SELECT=(--scan-class-path="$TEST_CLASSES")
for a in "$@"; do case $a in --select*) SELECT=() ;; esac; done

# The AOT cache holds classes from jars only, so the launcher jar is the JVM's class path and the
# tests come in through the launcher's own --class-path. Training discovers the tests without running them.
AOT=$TARGET/kernel-vm/junit-launcher.aot
STAMP="$(readlink -f "$JAVA") $(stat -c %Y "$LAUNCHER_JAR")"
if [ ! -s "$AOT" ] || [ "$(cat "$AOT.stamp" 2>/dev/null)" != "$STAMP" ]; then
  rm -f "$AOT" "$AOT.stamp"
  if "$JAVA" "${JVM[@]}" -XX:AOTCacheOutput="$AOT" "${LAUNCH[@]}" --scan-class-path="$TEST_CLASSES" --exclude-tag=kernel-matrix --details=none \
       >"$TARGET/kernel-vm/aot-training.log" 2>&1 && [ -s "$AOT" ]; then
    echo "$STAMP" > "$AOT.stamp"
  else
    echo "kernel-vm: no AOT cache (see $TARGET/kernel-vm/aot-training.log): the guest JVM starts slower" >&2
  fi
fi
[ -s "$AOT" ] && JVM+=(-XX:AOTCache="$AOT")

REPORTS=$TARGET/kernel-vm/reports-$KERNEL
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
"$HERE/vmrun.sh" --kernel "$KERNEL" --share-rw "$REPORTS" -- \
  "$JAVA" "${JVM[@]}" "${LAUNCH[@]}" ${SELECT[@]+"${SELECT[@]}"} --details=tree --fail-if-no-tests --reports-dir="$REPORTS" "$@"
