# The system disk of one OpenWrt VM: the pinned combined image, unpacked
# to raw, with collabstack's first-boot script in /etc/uci-defaults (it
# sets the interfaces, the UCI batch, the SSH key and the root password,
# and OpenWrt deletes it after it ran). The script arrives on stdin (it
# holds the password) and is written 0600. A marker beside the image
# keeps the SHA-256 of the script it holds.
gz={{q .Gz}}
raw={{q .Raw}}
hash={{q .Hash}}
marker="$(dirname "$raw")/.$(basename "$raw").firstboot"

if [ -f "$raw" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$hash" ]; then
	exit 0
fi
todo "make $raw from $gz with the first-boot script"
[ -f "$gz" ] || { echo "$gz is missing: the image step downloads it" >&2; exit 2; }

work=$(mktemp -d)
loop=""
cleanup() {
	if mountpoint -q "$work/root" 2>/dev/null; then umount "$work/root"; fi
	if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/99-collabstack"
[ -s "$work/99-collabstack" ] || { echo "no first-boot script on stdin" >&2; exit 2; }

part="$raw.part"
# OpenWrt's images carry padding after the gzip stream: gunzip warns
# "trailing garbage ignored" and exits 2, which is fine here.
rc=0
gunzip -c "$gz" > "$part" || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
	rm -f "$part"
	echo "unpacking $gz failed (gunzip exit $rc)" >&2
	exit 3
fi
# Partition 2 of the combined image is the root file system: its start
# and size (in 512-byte sectors) are in the MBR's second entry.
start=$(od -An -tu4 -j470 -N4 "$part" | tr -d ' ')
size=$(od -An -tu4 -j474 -N4 "$part" | tr -d ' ')
if [ -z "$start" ] || [ "$start" -eq 0 ] || [ -z "$size" ] || [ "$size" -eq 0 ]; then
	rm -f "$part"
	echo "$gz has no second partition: not an OpenWrt combined image" >&2
	exit 3
fi
loop=$(losetup --find --show --offset $((start * 512)) --sizelimit $((size * 512)) "$part")
mkdir -p "$work/root"
mount "$loop" "$work/root"
install -d -m 0755 "$work/root/etc/uci-defaults"
install -m 0600 "$work/99-collabstack" "$work/root/etc/uci-defaults/99-collabstack"
umount "$work/root"
losetup -d "$loop"
loop=""
mv "$part" "$raw"
printf '%s\n' "$hash" > "$marker"
echo "made $raw"
