#!/bin/sh
# Installed as /usr/local/lib/collabstack/netrevert.sh by collabstack and
# run by collabstack-netrevert.timer when collabstack did not confirm a
# network change in time (also after a reboot), or by bridge-confirm.sh
# when the change did not come up: puts the previous
# /etc/network/interfaces back, reloads the network, and removes the
# timer. The reason is kept in /var/lib/collabstack/network/reverted.
set -u
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
state_dir={{q .StateDir}}
reason=${1:-"collabstack did not confirm the change in time"}
exec 9>"$state_dir/lock"
flock 9
if [ ! -f "$state_dir/armed" ]; then
	# Confirmed (or reverted) already.
	exit 0
fi
bridge=$(cat "$state_dir/bridge" 2>/dev/null || true)
{
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) putting back the network configuration: $reason"
	if [ -f "$state_dir/interfaces.before" ]; then
		cp "$state_dir/interfaces.before" /etc/network/interfaces.collabstack-tmp
		mv /etc/network/interfaces.collabstack-tmp /etc/network/interfaces
	fi
	mkdir -p /run/network
	if command -v ifreload >/dev/null 2>&1; then
		ifreload -a || systemctl restart networking
	else
		systemctl restart networking
	fi
	# A bridge the previous file does not know must not keep the NIC.
	if [ -n "$bridge" ] && ip link show "$bridge" >/dev/null 2>&1 &&
		! grep -qE "^[[:space:]]*iface[[:space:]]+${bridge}[[:space:]]" /etc/network/interfaces; then
		ip link del "$bridge"
		ifreload -a || systemctl restart networking
	fi
} >> "$state_dir/revert.log" 2>&1
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $reason" > "$state_dir/reverted"
rm -f "$state_dir/armed" "$state_dir/interfaces.before" "$state_dir/applied.token"
systemctl disable collabstack-netrevert.timer >/dev/null 2>&1 || true
rm -f /etc/systemd/system/collabstack-netrevert.timer /etc/systemd/system/collabstack-netrevert.service
systemctl daemon-reload
