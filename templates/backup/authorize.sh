# This host keeps a backup repository in {{.Path}}: the user {{.User}}
# owns it, and the backed-up hosts' keys may log in as that user for SFTP
# only: every login runs sftp-server whatever it asks for, with no
# forwarding or terminal (restrict).
user={{q .User}}
repo={{q .Path}}
keys={{q .Keys}}
home=/var/lib/collabstack-backup
if ! id -u "$user" >/dev/null 2>&1; then
	todo "create the backup user $user"
	useradd --system --home-dir "$home" --no-create-home --shell /bin/sh "$user"
fi
if [ ! -d "$home/.ssh" ]; then
	todo "create $home"
	mkdir -p "$home/.ssh"
	chown -R "$user": "$home"
	chmod 700 "$home" "$home/.ssh"
fi
if [ ! -d "$repo" ] || [ "$(stat -c %U "$repo")" != "$user" ]; then
	todo "create $repo for $user"
	mkdir -p "$repo"
	chown "$user": "$repo"
	chmod 700 "$repo"
fi
sftp_server=/usr/lib/openssh/sftp-server
[ -x "$sftp_server" ] || sftp_server=/usr/lib/sftp-server
want=$(printf '%s\n' "$keys" | sed "s|^|restrict,command=\"$sftp_server\" |")
file="$home/.ssh/authorized_keys"
if ! same_content "$file" "$want"; then
	todo "authorize the backed-up hosts' keys for $user (SFTP only)"
	printf '%s\n' "$want" >"$file.tmp"
	chown "$user": "$file.tmp"
	chmod 600 "$file.tmp"
	mv "$file.tmp" "$file"
fi
