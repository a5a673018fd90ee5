#!/bin/bash
# extract-vmlinux.sh BZIMAGE OUT: writes the uncompressed kernel ELF inside a bzImage (xz or zstd payload).
# qemu boots that ELF directly (PVH entry point), which skips the in-guest decompression: seconds per
# boot under software emulation.
set -euo pipefail
IMAGE=$1 OUT=$2
try() { # $1 = magic as a grep -P pattern, rest = decompressor
  local magic=$1 offset; shift
  for offset in $(LC_ALL=C grep -obUaP "$magic" "$IMAGE" | cut -d: -f1); do
    # The payload is followed by the rest of the bzImage: the decompressor complains about trailing data
    # (non-zero exit) but has written the whole ELF by then, so its exit status is not the test.
    tail -c +$((offset + 1)) "$IMAGE" | "$@" > "$OUT" 2>/dev/null || true
    [ "$(head -c 4 "$OUT" | od -An -c | tr -d ' ')" = '177ELF' ] && return 0
  done
  return 1
}
try '\xFD7zXZ\x00' xz -dc || try '\x28\xB5\x2F\xFD' zstd -dcq || { rm -f "$OUT"; echo "no xz or zstd ELF payload in $IMAGE" >&2; exit 1; }
