#!/bin/sh
# Shared head of every step script (steps/script renders it in front of
# the step's own script). MODE=check only reads: it exits 0 when the job is
# done, or prints "todo: why" and exits 100 when it is not. MODE=apply
# does what is missing. Any other exit status is an error.
set -eu
export DEBIAN_FRONTEND=noninteractive
LC_ALL=C
export LC_ALL
# The system folders, also when sudo or su kept a PATH without them.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin ;;
esac
export PATH

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

# installed_like PATTERN...: the installed packages whose names match the
# dpkg-query patterns, one per line.
installed_like() {
	# shellcheck disable=SC2016 # ${Package} and ${Status} are dpkg-query's
	dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null | awk '$2 == "install" && $4 == "installed" { print $1 }'
}

# apt_get ARGS...: apt-get that waits for another apt to finish.
apt_get() {
	apt-get -o DPkg::Lock::Timeout=600 -q "$@"
}

apt_updated=""
# apt_update: apt-get update, once per script.
apt_update() {
	if [ -z "$apt_updated" ]; then
		apt_get update
		apt_updated=1
	fi
}

# apt_install PKG...: installs packages, waiting for another apt to finish.
apt_install() {
	apt_update
	apt_get install -y --no-install-recommends "$@"
}

# pve_installed: Proxmox VE is installed and answers (pveversion runs).
pve_installed() {
	command -v pveversion >/dev/null 2>&1 && pveversion >/dev/null 2>&1
}

# running_pve_kernel: the running kernel's image belongs to a Proxmox
# kernel package (proxmox-kernel-*, or pve-kernel-* of older releases).
running_pve_kernel() {
	image="/boot/vmlinuz-$(uname -r)"
	[ -e "$image" ] || return 1
	owner=$(dpkg-query -S "$image" 2>/dev/null | cut -d: -f1)
	case "$owner" in
	proxmox-kernel-* | pve-kernel-*) return 0 ;;
	esac
	return 1
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
