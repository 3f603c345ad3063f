#!/bin/sh
# Adds collabstack's public key ($KEY, one authorized_keys line) to the
# authorized_keys of the user running it, once: a second run finds the key
# (compared by type and key, not by comment) and changes nothing.
# Prints "added" or "present".
set -eu
keyid=$(printf '%s\n' "$KEY" | cut -d' ' -f1-2)
dir="$HOME/.ssh"
file="$dir/authorized_keys"
if [ -f "$file" ] && grep -qF "$keyid" "$file"; then
	echo present
	exit 0
fi
umask 077
mkdir -p "$dir"
chmod 0700 "$dir"
# A file that does not end in a newline would glue our key to its last one.
if [ -s "$file" ] && [ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" != '\n' ]; then
	printf '\n' >> "$file"
fi
printf '%s\n' "$KEY" >> "$file"
chmod 0600 "$file"
# SELinux hosts (Rocky, Fedora) refuse keys in a file with the wrong label.
if command -v restorecon >/dev/null 2>&1; then
	restorecon -R "$dir" >/dev/null 2>&1 || true
fi
echo added
