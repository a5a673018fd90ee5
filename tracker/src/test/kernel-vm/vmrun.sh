#!/bin/bash
# vmrun.sh [--kernel NAME] [--memory SIZE] [--cpus N] [--timeout SECONDS] [--share-rw DIR]... -- COMMAND [ARG...]
#
# Runs COMMAND under a second Linux kernel (see prepare.sh; default debian-6.1) booted with qemu, in the
# current directory, and returns its stdout, its stderr and its exit code as if it had run here.
# The guest sees the host's whole filesystem read-only (9p) under a tmpfs overlay: it can write
# anywhere, and none of it reaches the host, except in the directories given with --share-rw, which are
# the host's own directories mounted read-write at the same path (that is how result files come back).
# The guest has the environment variable PAGEMARK_GUEST_KERNEL set to the kernel's name.
#
# Exit status: COMMAND's; 125 with one line "kernel-vm: ..." on stderr when the guest could not be
# prepared, could not start, or did not finish in time (then the end of the guest console follows).
# One line "kernel-vm: <kernel> ... boot-to-command ... s" on stderr reports the timings.
# PAGEMARK_VM_ACCEL=kvm|tcg overrides the accelerator (default: kvm only where the CPU has vmx/svm
# and /dev/kvm is writable; the /dev/kvm of our build machines cannot run a stock kernel).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KERNEL=debian-6.1 MEMORY=2G CPUS=2 TIMEOUT=900 SHARES=()
usage() { echo "usage: vmrun.sh [--kernel debian-6.1] [--memory 2G] [--cpus 2] [--timeout 900] [--share-rw DIR]... -- COMMAND [ARG...]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --kernel) KERNEL=${2:?}; shift 2 ;;
    --memory) MEMORY=${2:?}; shift 2 ;;
    --cpus) CPUS=${2:?}; shift 2 ;;
    --timeout) TIMEOUT=${2:?}; shift 2 ;;
    --share-rw) [ -d "${2:?}" ] || { echo "kernel-vm: --share-rw $2: not a directory" >&2; exit 2; }
                SHARES+=("$(cd "$2" && pwd -P)"); shift 2 ;;
    --) shift; break ;;
    *) usage ;;
  esac
done
[ $# -gt 0 ] || usage
fail() { echo "kernel-vm: $*" >&2; exit 125; }

GUEST=$("$HERE/prepare.sh" "$KERNEL") || exit 125
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 is not installed (prepare.sh should have installed it)"

ACCEL=${PAGEMARK_VM_ACCEL:-}
if [ -z "$ACCEL" ]; then
  if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo; then ACCEL=kvm; else ACCEL=tcg; fi
fi
case $ACCEL in
  kvm) ACCEL_ARGS=(-accel kvm -cpu "${PAGEMARK_VM_CPU:-host}") ;;
  tcg) ACCEL_ARGS=(-accel "tcg,thread=${PAGEMARK_VM_TCG_THREAD:-multi}" -cpu "${PAGEMARK_VM_CPU:-max}") ;;
  *) fail "PAGEMARK_VM_ACCEL=$ACCEL: accepted values are kvm, tcg" ;;
esac

OUT=$(mktemp -d "${TMPDIR:-/tmp}/kernel-vm.XXXXXX")
trap 'rm -rf "$OUT"' EXIT
{
  echo "#!/bin/bash"   # printf %q below quotes for bash
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root"
  echo "export PAGEMARK_GUEST_KERNEL=$KERNEL"
  printf 'cd %q || exit 126\n' "$PWD"
  printf '%q ' "$@"; echo
} > "$OUT/guest-command.sh"
chmod +x "$OUT/guest-command.sh"

SHARE_ARGS=() SHARE_LIST=""
for i in "${!SHARES[@]}"; do
  SHARE_ARGS+=(-virtfs "local,path=${SHARES[$i]},mount_tag=rw$i,security_model=none,multidevs=remap")
  SHARE_LIST="$SHARE_LIST,${SHARES[$i]}"
done

START=$(date +%s.%N)
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 -nodefaults -no-user-config -nographic -no-reboot \
  "${ACCEL_ARGS[@]}" -m "$MEMORY" -smp "$CPUS" \
  -kernel "$GUEST/vmlinux" -initrd "$GUEST/initramfs.cpio.gz" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 vmout=$OUT vmrw=${SHARE_LIST#,}" \
  -serial "file:$OUT/console.log" \
  -virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
  -virtfs "local,path=$OUT,mount_tag=out,security_model=none,multidevs=remap" \
  "${SHARE_ARGS[@]}" </dev/null >"$OUT/qemu.log" 2>&1
QEMU_RC=$?
END=$(date +%s.%N)

cat "$OUT/stdout" 2>/dev/null
cat "$OUT/stderr" >&2 2>/dev/null
if [ ! -f "$OUT/rc" ]; then
  if [ $QEMU_RC = 124 ] || [ $QEMU_RC = 137 ]; then reason="the guest did not finish within $TIMEOUT s (--timeout)"
  elif [ -s "$OUT/qemu.log" ]; then reason="qemu failed: $(head -1 "$OUT/qemu.log")"
  elif grep -q 'kernel-vm guest:' "$OUT/console.log" 2>/dev/null; then reason=$(grep 'kernel-vm guest:' "$OUT/console.log" | tail -1)
  elif grep -q 'Kernel panic' "$OUT/console.log" 2>/dev/null; then reason="the guest kernel panicked: $(grep -o 'Kernel panic.*' "$OUT/console.log" | head -1)"
  elif [ -f "$OUT/timing" ]; then reason="the guest stopped while running the command (qemu exit $QEMU_RC)"
  else reason="the guest did not start (qemu exit $QEMU_RC; accel $ACCEL)"; fi
  echo "kernel-vm: FAILED on $KERNEL: $reason" >&2
  echo "---- end of the guest console ----" >&2
  tail -25 "$OUT/console.log" 2>/dev/null | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g' >&2
  exit 125
fi
RC=$(cat "$OUT/rc")
awk -v kernel="$KERNEL" -v pkg="$(cut -d" " -f1,2 "$GUEST/stamp")" -v accel="$ACCEL" -v start="$START" -v end="$END" '
  /^command-start/ {s = $2} /^command-end/ {e = $2}
  END {printf "kernel-vm: %s (%s, %s): boot-to-command %.1f s, command %.1f s, wall %.1f s\n", kernel, pkg, accel, s, e - s, end - start}
' "$OUT/timing" >&2
exit "$RC"
