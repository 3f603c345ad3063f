#!/bin/sh
# Shared head of the Proxmox VE install scripts (steps/pveinstall puts it
# in front of each step's own script). Parameters arrive as environment
# variables, never spliced into the text. MODE=check only reads: it exits
# 0 when the job is done, or prints "todo: why" and exits 100 when it is
# not. MODE=apply does what is missing. Any other exit status is an error.
set -eu
export DEBIAN_FRONTEND=noninteractive
LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# Where collabstack keeps the state of a network change on the host, and
# its helper scripts (used by some of the scripts).
# shellcheck disable=SC2034
state_dir=/var/lib/collabstack/network
# shellcheck disable=SC2034
lib_dir=/usr/local/lib/collabstack

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

apt_updated=""
# apt_get ARGS...: apt-get that waits for another apt to finish.
apt_get() {
	apt-get -o DPkg::Lock::Timeout=600 -q "$@"
}

# apt_update: apt-get update, once per script.
apt_update() {
	if [ -z "$apt_updated" ]; then
		apt_get update
		apt_updated=1
	fi
}
