# Trust the SSH key of the repository host {{.Host}} (outside the site) on
# first use; its fingerprint is printed so it can be compared with the
# one that host shows (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub).
host={{q .Host}}
port={{.Port}}
file={{q .Conf}}/known_hosts
name=$host
[ "$port" = 22 ] || name="[$host]:$port"
if ! ssh-keygen -F "$name" -f "$file" >/dev/null 2>&1; then
	todo "trust the SSH key of $name for backups"
	keys=$(ssh-keyscan -T 10 -p "$port" -t ed25519 "$host" 2>/dev/null)
	[ -n "$keys" ] || { echo "$host:$port does not answer with an ed25519 SSH key" >&2; exit 1; }
	printf '%s\n' "$keys" >>"$file"
	printf '%s\n' "$keys" | ssh-keygen -lf - | sed 's/^/trusted on first use: /'
fi
