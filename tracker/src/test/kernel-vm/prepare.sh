#!/bin/bash
# prepare.sh [KERNEL]: makes the guest for `vmrun.sh` ready and prints its directory.
#
# KERNEL is the kernel-matrix point; only "debian-6.1" exists: Debian 12's own kernel (6.1 LTS), which
# has soft-dirty (CONFIG_MEM_SOFT_DIRTY=y) and lacks UFFD_FEATURE_WP_ASYNC, WP_UNPOPULATED and PAGEMAP_SCAN.
# Idempotent, safe to run concurrently (flock). What it does when something is missing:
#  - installs the host tools with apt-get (qemu-system-x86, busybox-static, xz-utils, cpio, gzip);
#  - downloads the current linux-image package with `apt-get download` (never installs it) and unpacks it;
#  - builds a tiny initramfs (busybox, the virtio/9p/overlay modules, our init) and extracts the
#    uncompressed vmlinux (qemu boots the ELF directly: under emulation that saves seconds per boot).
# The result is cached in $PAGEMARK_KERNEL_CACHE (default <repo>/.pagemark/kernel-vm), outside target/
# so `mvn clean` does not force a download. PAGEMARK_KERNEL_REFRESH=1 re-resolves the current package.
# On any failure: one line "kernel-vm: cannot prepare the guest: <reason>" on stderr, exit 125.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../../.." && pwd)
KERNEL=${1:-debian-6.1}
CACHE=${PAGEMARK_KERNEL_CACHE:-$REPO/.pagemark/kernel-vm}
fail() { echo "kernel-vm: cannot prepare the guest: $*" >&2; exit 125; }

case $KERNEL in
  debian-6.1) META=linux-image-amd64; SERIES=6.1 ;;
  *) fail "unknown kernel '$KERNEL' (accepted: debian-6.1)" ;;
esac
GUEST=$CACHE/$KERNEL

# ---- host tools ----
need_tools() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  [ -x /bin/busybox ] || missing+=(busybox-static)
  command -v xz >/dev/null || missing+=(xz-utils)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v gzip >/dev/null || missing+=(gzip)
  echo "${missing[*]}"
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }
MISSING=$(need_tools)
if [ -n "$MISSING" ]; then
  command -v apt-get >/dev/null || fail "missing $MISSING and there is no apt-get to install them"
  echo "kernel-vm: installing $MISSING" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >&2 || fail "apt-get update failed (needs root or passwordless sudo, and a reachable Debian mirror)"
  # shellcheck disable=SC2086
  as_root apt-get install -y -qq --no-install-recommends $MISSING >/dev/null \
    || fail "apt-get install $MISSING failed"
  MISSING=$(need_tools); [ -z "$MISSING" ] || fail "still missing after apt-get install: $MISSING"
fi

# ---- the guest kernel, cached ----
# The stamp names the package and a hash of the scripts that built the guest from it, so a change to
# them rebuilds the guest (from the kept .deb: no download) and a new package version replaces it.
HARNESS=$(cat "$HERE/init" "$HERE/mkinitramfs.sh" "$HERE/extract-vmlinux.sh" | sha256sum | cut -c1-16)
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
built_from() { [ -s "$GUEST/vmlinux" ] && [ -s "$GUEST/initramfs.cpio.gz" ] && cat "$GUEST/stamp" 2>/dev/null; }
if [ -z "${PAGEMARK_KERNEL_REFRESH:-}" ] && [ -f "$GUEST/stamp" ]; then
  read -r PKG VERSION _ < "$GUEST/stamp"
else
  # The meta package depends on the current ABI's image package, e.g. linux-image-6.1.0-41-amd64.
  resolve() { apt-cache depends "$META" 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
  PKG=$(resolve)
  if [ -z "$PKG" ]; then
    as_root apt-get update -qq >&2 || fail "apt-get update failed while looking for $META"
    PKG=$(resolve)
  fi
  [ -n "$PKG" ] || fail "apt cannot resolve $META to a kernel package (is this a Debian 12 machine with its main archive configured?)"
  VERSION=$(apt-cache show "$PKG" | awk '/^Version:/{print $2; exit}')
fi
case $PKG in linux-image-$SERIES.*) ;; *) fail "$META resolves to $PKG here, not a $SERIES kernel" ;; esac
STAMP="$PKG $VERSION harness=$HARNESS"
if [ "$(built_from)" = "$STAMP" ]; then echo "$GUEST"; exit 0; fi

echo "kernel-vm: preparing the $KERNEL guest from $PKG $VERSION" >&2
DEB=$CACHE/${PKG}_${VERSION}.deb
if [ ! -s "$DEB" ]; then
  DL=$(mktemp -d "$CACHE/.download.XXXXXX")
  chmod 777 "$DL"   # apt-get download writes there as the _apt user when it can
  download() { (cd "$DL" && apt-get download -qq "$PKG=$VERSION" >&2); }
  # Stale package lists point at a file the mirror no longer has: refresh them once and retry.
  download || { as_root apt-get update -qq >&2 && download; } || { rm -rf "$DL"; fail "apt-get download $PKG=$VERSION failed"; }
  rm -f "$CACHE"/linux-image-*.deb
  mv "$DL"/*.deb "$DEB" && rm -rf "$DL"
fi
WORK=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/root" "$WORK/out"
dpkg-deb -x "$DEB" "$WORK/root" || fail "dpkg-deb could not unpack $DEB"
CONFIG=$(ls "$WORK"/root/boot/config-* 2>/dev/null | head -1)
[ -n "$CONFIG" ] || fail "$PKG has no /boot/config-*"
grep -q '^CONFIG_MEM_SOFT_DIRTY=y' "$CONFIG" || fail "$PKG is built without CONFIG_MEM_SOFT_DIRTY: it cannot test the soft-dirty backend"

"$HERE/mkinitramfs.sh" "$WORK/root" "$WORK/out/initramfs.cpio.gz" >&2 || fail "building the initramfs failed"
"$HERE/extract-vmlinux.sh" "$WORK"/root/boot/vmlinuz-* "$WORK/out/vmlinux" || fail "extracting vmlinux from $PKG failed"
cp "$CONFIG" "$WORK/out/config"
echo "$STAMP" > "$WORK/out/stamp"
rm -rf "$GUEST" && mv "$WORK/out" "$GUEST"
echo "$GUEST"
