# Whether the bridge is in place (read only; the step applies it with an
# automatic revert): /etc/network/interfaces declares it, it exists, and
# no change is waiting for confirmation. A bridge someone declared
# already (an existing Proxmox VE) is left as it is.
BRIDGE={{q .Bridge}}
state_dir={{q .StateDir}}
if [ -f "$state_dir/armed" ]; then
	todo "confirm the network change applied at $(cat "$state_dir/armed") (a revert timer is armed)"
fi
if ! grep -qE "^[[:space:]]*iface[[:space:]]+${BRIDGE}[[:space:]]" /etc/network/interfaces 2>/dev/null; then
	todo "add the bridge $BRIDGE to /etc/network/interfaces"
fi
if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
	todo "bring up the bridge $BRIDGE"
fi
