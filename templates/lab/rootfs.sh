#!/bin/sh
# Builds the lab host image: a Debian {{.Suite}} root file system made with
# debootstrap, imported into the local dockerd as {{.Tag}}.
# Rendered by steps/lab; the image tag carries a hash of this text, so a
# change here builds a new image. Runs as root on the machine with dockerd.
set -eu

tag={{q .Tag}}
work=$(mktemp -d /var/tmp/collabstack-lab-rootfs.XXXXXX)
cleanup() {
	# debootstrap may leave /proc mounted inside the tree on failure.
	umount "$work/rootfs/proc" 2>/dev/null || true
	umount "$work/rootfs/sys" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM
root="$work/rootfs"

echo "debootstrap {{.Suite}} into $root (a few minutes the first time)"
debootstrap --variant=minbase --include={{.Include}} {{q .Suite}} "$root" {{q .Mirror}}

# Per-node state is injected when a node is created (host key, our key) or
# made on first boot (machine id): nothing identifying lives in the image.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Only the ed25519 host key is injected; sshd must not look for others.
cat > "$root/etc/ssh/sshd_config.d/collabstack-lab.conf" <<'CONF'
# collabstack lab node: one host key, injected per node.
HostKey /etc/ssh/ssh_host_ed25519_key
CONF

# Like a real Debian host: main, updates and security.
cat > "$root/etc/apt/sources.list" <<LIST
deb {{.Mirror}} {{.Suite}} main
deb {{.Mirror}} {{.Suite}}-updates main
deb {{.SecurityMirror}} {{.Suite}}-security main
LIST

# Units that have nothing to do in a container and only wait or fail.
for unit in getty@tty1.service systemd-pstore.service e2scrub_reap.service \
	e2scrub_all.timer fstrim.timer apt-daily.timer apt-daily-upgrade.timer; do
	chroot "$root" systemctl mask "$unit" >/dev/null 2>&1 || true
done

rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
rm -f "$root"/var/log/*.log

echo "import $tag"
tar -C "$root" --numeric-owner -c . | docker import \
	--change 'CMD ["/sbin/init"]' \
	--change 'ENV container=docker' \
	- "$tag" >/dev/null
echo "built $tag"
