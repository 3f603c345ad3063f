# collabstack: install smartdns. Rendered behind script/lib.sh: MODE=check
# only reads (exit 100 with a todo line when it is missing).
installed smartdns && exit 0
todo "install smartdns"
apt_update
if ! apt-cache policy smartdns | grep -q 'Candidate: [0-9]'; then
	echo "apt has no smartdns package here" >&2
	exit 3
fi
apt_install smartdns
