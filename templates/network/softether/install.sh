# collabstack: install Debian's SoftEther VPN server. Rendered behind
# script/lib.sh: MODE=check only reads (exit 100 with a todo line when
# something is missing).
missing=""
for p in softether-vpnserver softether-vpncmd; do
	installed "$p" || missing="$missing $p"
done
[ -n "$missing" ] || exit 0
todo "install$missing"
apt_update
if ! apt-cache policy softether-vpnserver | grep -q 'Candidate: [0-9]'; then
	echo "apt has no softether-vpnserver package here" >&2
	exit 3
fi
# shellcheck disable=SC2086 # the package names are words
apt_install $missing
