#!/usr/bin/env bash
# Shared set-up for scripts/demo and scripts/test: installs what collabstack
# and its tests need from Debian's archive and starts dockerd when none runs.
set -euo pipefail

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
	local missing=()
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "installing: ${missing[*]}"
		as_root apt-get update -q
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
}

ensure_go() {
	if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
		export PATH="/usr/local/go/bin:$PATH"
	fi
	if ! command -v go >/dev/null 2>&1; then
		apt_install golang-go
	fi
	# Go 1.21 and later fetch the toolchain go.mod asks for from the Go
	# module proxy by themselves.
	export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
	go version
}

ensure_dockerd() {
	apt_install docker.io
	if docker info >/dev/null 2>&1; then
		return
	fi
	echo "starting dockerd"
	if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
		as_root systemctl start docker
	else
		as_root sh -c 'nohup dockerd >/var/log/collabstack-dockerd.log 2>&1 &'
	fi
	for _ in $(seq 1 60); do
		docker info >/dev/null 2>&1 && return
		sleep 1
	done
	echo "dockerd did not start; see /var/log/collabstack-dockerd.log" >&2
	exit 1
}
