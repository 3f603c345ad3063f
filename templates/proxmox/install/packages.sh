# Proxmox VE itself and its companions, as the install guide for Debian 12
# lists them: proxmox-ve, postfix (preseeded to "Local only", so apt asks
# nothing), open-iscsi and chrony. Runs on the Proxmox VE kernel.
PACKAGES={{q (join .Packages " ")}}
if pve_installed; then
	exit 0
fi
missing=""
for p in $PACKAGES; do
	installed "$p" || missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "the Proxmox VE packages are installed but pveversion does not answer: run pveversion and apt-get install -f on the host to see why, then run apply again" >&2
	exit 1
fi
todo "install$missing"
if ! installed postfix; then
	mailname=$(hostname -f 2>/dev/null || hostname)
	printf '%s\n' "postfix postfix/main_mailer_type select Local only" "postfix postfix/mailname string $mailname" | debconf-set-selections
fi
apt_update
# shellcheck disable=SC2086 # one word per package
apt_get install -y $missing
if ! pve_installed; then
	echo "the Proxmox VE packages were installed but pveversion does not answer: see the apt output above" >&2
	exit 1
fi
pveversion
