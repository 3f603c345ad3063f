# The Proxmox VE package repository and its signing key, as the install
# guide for Debian 12 does it: the key in /etc/apt/trusted.gpg.d (checked
# against its published SHA-512), the no-subscription repository in
# /etc/apt/sources.list.d/pve-install-repo.list, then apt update and
# full-upgrade. An installed Proxmox VE is left as it is.
REPO_URL={{q .RepoURL}}
KEY_URL={{q .KeyURL}}
KEY_SHA512={{q .KeySHA512}}
SUITE={{q .Suite}}
REPO_COMPONENT={{q .RepoComponent}}

if pve_installed; then
	exit 0
fi

keyring=/etc/apt/trusted.gpg.d/proxmox-release-$SUITE.gpg
list=/etc/apt/sources.list.d/pve-install-repo.list
want="deb [arch=amd64] $REPO_URL $SUITE $REPO_COMPONENT"

key_ok() {
	[ -s "$keyring" ] && [ "$(sha512sum "$keyring" | cut -d' ' -f1)" = "$KEY_SHA512" ]
}

changed=""
if ! key_ok; then
	todo "fetch the Proxmox release key into $keyring"
	command -v curl >/dev/null 2>&1 || {
		apt_update
		apt_get install -y --no-install-recommends curl ca-certificates
	}
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	if ! curl -fsSL --retry 3 "$KEY_URL" -o "$tmp"; then
		echo "could not download the Proxmox release key from $KEY_URL: check that the host reaches it (proxy, DNS, firewall)" >&2
		exit 1
	fi
	got=$(sha512sum "$tmp" | cut -d' ' -f1)
	if [ "$got" != "$KEY_SHA512" ]; then
		echo "the key from $KEY_URL has SHA-512 $got, not the published $KEY_SHA512: it was not installed; check the URL (or a proxy that rewrites downloads)" >&2
		exit 1
	fi
	install -m 0644 "$tmp" "$keyring"
	changed=1
fi
if [ ! -f "$list" ] || [ "$(cat "$list")" != "$want" ]; then
	todo "add the Proxmox VE repository ($list: $want)"
	printf '%s\n' "$want" > "$list"
	changed=1
fi
if [ -n "$changed" ]; then
	apt_update
	apt_get full-upgrade -y
fi
