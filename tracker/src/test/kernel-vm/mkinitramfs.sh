#!/bin/bash
# mkinitramfs.sh KERNEL_ROOT OUT.cpio.gz: a tiny initramfs: static busybox, our init, and the modules that
# init loads to reach the host filesystem (virtio-pci, 9p over virtio, overlayfs) with their dependencies,
# in load order. A module the kernel has built in is simply not found, and not needed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
KROOT=$1 OUT=$2
MODULES=$(ls -d "$KROOT"/lib/modules/*/kernel | head -1)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/bin" "$W/lib/modules" "$W/proc" "$W/sys" "$W/dev" "$W/newroot"
cp /bin/busybox "$W/bin/busybox"
cp "$HERE/init" "$W/init"; chmod 755 "$W/init"

declare -A SEEN; ORDER=()
add() { # depth first, so that every module comes after what it depends on
  local name=$1 file deps dep
  [ -n "${SEEN[$name]:-}" ] && return; SEEN[$name]=1
  file=$(find "$MODULES" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \) -print -quit)
  [ -n "$file" ] || return 0
  case $file in
    *.xz) xz -dc "$file" > "$W/lib/modules/$name.ko" ;;
    *.zst) zstd -dcq "$file" > "$W/lib/modules/$name.ko" ;;
    *) cp "$file" "$W/lib/modules/$name.ko" ;;
  esac
  # The .modinfo strings are NUL-separated key=value pairs; "depends=a,b" names the modules needed first.
  deps=$(tr '\0' '\n' < "$W/lib/modules/$name.ko" | sed -n 's/^depends=//p' | head -1 | tr ',' ' ')
  for dep in $deps; do add "${dep//-/_}"; done
  ORDER+=("$name")
}
for m in virtio_pci 9pnet_virtio 9p overlay; do add "$m"; done
printf '%s\n' "${ORDER[@]}" > "$W/lib/modules/order"
(cd "$W" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT"
echo "initramfs: busybox + modules ${ORDER[*]}"
