#!/bin/sh
# Shared head of every step script (steps/script renders it in front of
# the step's own script). MODE=check only reads: it exits 0 when the job is
# done, or prints "todo: why" and exits 100 when it is not. MODE=apply
# does what is missing. Any other exit status is an error.
set -eu
export DEBIAN_FRONTEND=noninteractive
LC_ALL=C
export LC_ALL

# todo reports what is missing; in check mode that ends the script.
todo() {
	echo "todo: $*"
	if [ "${MODE:-apply}" = check ]; then
		exit 100
	fi
}

# installed PKG: the package is installed.
installed() {
	# shellcheck disable=SC2016 # ${Status} is dpkg-query's, not the shell's
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

apt_updated=""
# apt_install PKG...: installs packages, waiting for another apt to finish.
apt_install() {
	if [ -z "$apt_updated" ]; then
		apt-get -o DPkg::Lock::Timeout=600 update -q
		apt_updated=1
	fi
	apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$@"
}

# in_container: this host is a container (a lab node), where services
# that set the clock are skipped by design.
in_container() {
	systemd-detect-virt --container --quiet 2>/dev/null
}

# home_of USER: the user's home directory.
home_of() {
	getent passwd "$1" | cut -d: -f6
}

# in_group USER GROUP: the user is a member of the group.
in_group() {
	id -nG "$1" 2>/dev/null | tr ' ' '\n' | grep -qx "$2"
}

# same_content FILE TEXT: FILE holds exactly TEXT plus a final newline.
same_content() {
	[ -f "$1" ] && [ "$(cat "$1")" = "$2" ]
}
