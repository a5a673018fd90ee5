#!/bin/bash
# guest-tests.sh [--kernel debian-6.1] [CONSOLE-LAUNCHER-OPTION...]
#
# The guest half of the test command: runs the tracker's kernel-matrix tests (the test classes tagged
# "kernel-matrix", see io.pagemark.KernelMatrix) inside a guest kernel (vmrun.sh), with plain java and
# the JUnit console launcher, on the classes the host build compiled: Maven inside the emulated guest
# would take minutes. Needs `./mvnw -pl tracker -am test-compile` (or test) first, and JAVA_HOME set to
# the JDK 25+ that compiled them. Extra options go to the console launcher (e.g. --select-class=...
# with --exclude-tag=none to run one class).
# The JUnit XML reports come back to tracker/target/kernel-vm/reports-<kernel>/.
# Exit status: 0 when every test passed, 1 when one failed, 2 when none ran, 125 (one line says why)
# when the guest could not run.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TARGET=$(cd "$HERE/../../.." && pwd)/target
KERNEL=debian-6.1
if [ "${1:-}" = --kernel ]; then KERNEL=${2:?--kernel needs a name}; shift 2; fi
fail() { echo "kernel-vm: $*" >&2; exit 125; }

ARGS=$TARGET/kernel-vm/guest-java.args
[ -f "$ARGS" ] || fail "no $ARGS: build the tests first (./mvnw -pl tracker -am test-compile)"
JAVA=${JAVA_HOME:+$JAVA_HOME/bin/java}
[ -x "${JAVA:-}" ] || fail "set JAVA_HOME to the JDK 25+ that compiled the tests (or run ./pagemark test)"
REPORTS=$TARGET/kernel-vm/reports-$KERNEL
rm -rf "$REPORTS" && mkdir -p "$REPORTS"

"$HERE/vmrun.sh" --kernel "$KERNEL" --share-rw "$REPORTS" -- \
  "$JAVA" "@$ARGS" org.junit.platform.console.ConsoleLauncher execute \
  --disable-banner --details=tree --disable-ansi-colors --fail-if-no-tests --include-engine=junit-jupiter \
  --scan-class-path="$TARGET/test-classes" --include-tag=kernel-matrix --reports-dir="$REPORTS" "$@"
