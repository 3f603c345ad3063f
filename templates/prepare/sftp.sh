# SFTP: the account {{.SFTPUser}} may only use SFTP, confined (chroot) to
# {{.Root}}. sshd demands that every folder from / down to a chroot be
# owned by root and writable by no one else; a root under a home folder
# (/home/ubuntu/sftp) cannot be that, since /home/ubuntu belongs to its
# user. So the root is bind-mounted at {{.Chroot}} and that is the chroot:
# SFTP clients see the content of {{.Root}} as "/". The root itself is
# root's (sshd's rule); folders inside it that belong to group {{.SFTPUser}}
# with mode 2775 are writable over SFTP and by the admin user.
# The new sshd configuration is checked with `sshd -t` before sshd reloads
# it, and put back as it was if the check fails, so a bad configuration
# never locks anyone out.
root={{q .Root}}
chroot={{q .Chroot}}
sftp_user={{q .SFTPUser}}
admin={{q .Admin}}
config=/etc/ssh/sshd_config
begin="# BEGIN collabstack sftp"
end="# END collabstack sftp"
block="$begin
# Managed by collabstack: the SFTP-only account $sftp_user sees $root as /.
Match User $sftp_user
	PasswordAuthentication yes
	ChrootDirectory $chroot
	ForceCommand internal-sftp -u 0002
	AllowTcpForwarding no
	AllowAgentForwarding no
	X11Forwarding no
	PermitTTY no
$end"
IFS= read -r password || { echo "no password on stdin" >&2; exit 2; }

if ! getent group "$sftp_user" >/dev/null; then
	todo "create group $sftp_user"
	groupadd "$sftp_user"
fi
if ! id -u "$sftp_user" >/dev/null 2>&1; then
	todo "create the SFTP-only user $sftp_user"
	useradd --gid "$sftp_user" --home-dir / --no-create-home --shell /usr/sbin/nologin "$sftp_user"
fi
if ! in_group "$admin" "$sftp_user"; then
	todo "add $admin to group $sftp_user"
	usermod -aG "$sftp_user" "$admin"
fi
hash=$(getent shadow "$sftp_user" | cut -d: -f2)
if ! printf '%s\n%s\n' "$hash" "$password" | perl -e 'my $h = <STDIN>; my $p = <STDIN>; chomp($h, $p); exit(length($h) > 3 && crypt($p, $h) eq $h ? 0 : 1)'; then
	todo "set the password of $sftp_user"
	printf '%s:%s\n' "$sftp_user" "$password" | chpasswd
fi
unset password

for dir in "$root" "$chroot"; do
	if [ ! -d "$dir" ]; then
		todo "create $dir"
		mkdir -p "$dir"
	fi
	if [ "$(stat -c %U:%a "$dir")" != root:755 ]; then
		todo "make $dir root's, mode 755 (sshd's rule for a chroot)"
		chown root:root "$dir"
		chmod 0755 "$dir"
	fi
done

fstab_line="$root $chroot none bind 0 0"
if ! grep -qxF "$fstab_line" /etc/fstab; then
	todo "add the bind mount of $root at $chroot to /etc/fstab"
	printf '%s\n' "$fstab_line" >> /etc/fstab
fi
if [ "$(findmnt -n -o TARGET --target "$chroot" 2>/dev/null)" != "$chroot" ]; then
	todo "mount $root at $chroot"
	mount --bind "$root" "$chroot"
fi

current=$(sed -n "/^$begin\$/,/^$end\$/p" "$config")
if [ "$current" != "$block" ]; then
	todo "configure sshd: SFTP only, chroot $chroot, for $sftp_user"
	backup=$(mktemp /etc/ssh/sshd_config.collabstack.XXXXXX)
	cp -p "$config" "$backup"
	sed -i "/^$begin\$/,/^$end\$/d" "$config"
	printf '\n%s\n' "$block" >> "$config"
	if ! sshd -t; then
		cp -p "$backup" "$config"
		rm -f "$backup"
		echo "sshd -t refused the new configuration; $config is back as it was" >&2
		exit 2
	fi
	rm -f "$backup"
	systemctl reload ssh || systemctl restart ssh
fi
