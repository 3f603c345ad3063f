# Base packages every prepared host needs.
packages={{q .Packages}}
missing=""
for p in $packages; do
	installed "$p" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	todo "install$missing"
	# shellcheck disable=SC2086 # one word per package
	apt_install $missing
fi
