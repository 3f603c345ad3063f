# The standby accepts the main server's sync key for root, restricted to
# rsync writing into {{.Dir}} (rrsync -wo): no shell, no forwarding, no
# other folder. Only the line marked collabstack-standby-sync in root's
# authorized_keys is touched.
dir={{q .Dir}}
key={{q .Key}}
for p in rsync python3; do
	if ! installed "$p"; then
		todo "install $p (rsync's rrsync needs python3)"
		apt_install "$p"
	fi
done
rrsync=$(command -v rrsync || ls /usr/share/doc/rsync/scripts/rrsync 2>/dev/null || true)
if [ -z "$rrsync" ]; then
	echo "rsync's rrsync is not installed on this host" >&2
	exit 1
fi
if [ ! -d "$dir" ]; then
	todo "create $dir"
	mkdir -p "$dir"
fi
line="restrict,command=\"$rrsync -wo $dir\" $key collabstack-standby-sync"
file=/root/.ssh/authorized_keys
if ! grep -qxF "$line" "$file" 2>/dev/null; then
	todo "let the main server's sync key write into $dir"
	mkdir -p /root/.ssh
	chmod 700 /root/.ssh
	{ grep -v ' collabstack-standby-sync$' "$file" 2>/dev/null || true; printf '%s\n' "$line"; } >"$file.tmp"
	chmod 600 "$file.tmp"
	mv "$file.tmp" "$file"
fi
