# Node.js and npm from the distribution (site file: prepare.node: distro),
# for hosts that cannot reach GitHub for nvm.
missing=""
for p in nodejs npm; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	todo "install$missing"
	# shellcheck disable=SC2086 # one word per package
	apt_install $missing
fi
