# SSH hardening: root never logs in with a password; password
# authentication is off once collabstack logs in with a key (site file:
# prepare.keep_password_login keeps it on). A drop-in read before the rest
# of sshd_config (sshd keeps the first value it reads), checked with
# sshd -t before sshd reloads. The SFTP account's Match block (sftp.sh)
# keeps its own password login.
file=/etc/ssh/sshd_config.d/10-collabstack.conf
password={{q .PasswordAuth}}
want="# Managed by collabstack: SSH hardening (docs/security.md).
PermitRootLogin prohibit-password
PasswordAuthentication $password
KbdInteractiveAuthentication no
PermitEmptyPasswords no"

if ! grep -qiE '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' /etc/ssh/sshd_config; then
	echo "/etc/ssh/sshd_config does not include /etc/ssh/sshd_config.d/*.conf: add 'Include /etc/ssh/sshd_config.d/*.conf' at its top (Debian's default), then run apply again" >&2
	exit 2
fi
effective=$(sshd -T 2>/dev/null | grep -iE '^(permitrootlogin|passwordauthentication) ' | sort | tr '\n' ' ')
if ! same_content "$file" "$want" || [ "$effective" != "passwordauthentication $password permitrootlogin without-password " ]; then
	todo "harden sshd: root logs in by key only, password authentication $password"
	install -d -m 0755 /etc/ssh/sshd_config.d
	backup=""
	if [ -f "$file" ]; then
		backup=$(mktemp /etc/ssh/collabstack-sshd.XXXXXX)
		cp -p "$file" "$backup"
	fi
	printf '%s\n' "$want" > "$file.tmp"
	mv "$file.tmp" "$file"
	if ! sshd -t; then
		if [ -n "$backup" ]; then mv "$backup" "$file"; else rm -f "$file"; fi
		echo "sshd -t refused the hardened configuration; it is back as it was" >&2
		exit 2
	fi
	rm -f "$backup"
	systemctl reload ssh || systemctl restart ssh
	effective=$(sshd -T 2>/dev/null | grep -iE '^(permitrootlogin|passwordauthentication) ' | sort | tr '\n' ' ')
	if [ "$effective" != "passwordauthentication $password permitrootlogin without-password " ]; then
		echo "sshd still says: $effective; another file in /etc/ssh/sshd_config.d or sshd_config sets these first" >&2
		exit 2
	fi
fi
