# SSH access kept for collabstack's key: its public key is in the
# authorized_keys of the admin user and of the user collabstack logs in as.
key={{q .Key}}
keyid=$(printf '%s\n' "$key" | cut -d' ' -f1-2)
users={{q .Users}}
for user in $users; do
	home=$(home_of "$user")
	if [ -z "$home" ]; then
		echo "user $user does not exist" >&2
		exit 2
	fi
	file="$home/.ssh/authorized_keys"
	if ! grep -qF "$keyid" "$file" 2>/dev/null; then
		todo "add collabstack's key to $file"
		group=$(id -gn "$user")
		install -d -m 0700 -o "$user" -g "$group" "$home/.ssh"
		printf '%s\n' "$key" >> "$file"
		chown "$user:$group" "$file"
		chmod 0600 "$file"
	fi
done
