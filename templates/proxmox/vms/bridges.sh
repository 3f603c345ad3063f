# The bridges the VMs of this host join. The WAN bridge is the host's own
# uplink (made by the install); the others are made here without ports
# through PVE's own network API (pvesh), which writes
# /etc/network/interfaces.new and applies it with ifreload. The host gets
# an address on the LAN bridge so it can reach the VMs as their jump host.
# BRIDGES lists NAME=CIDR words, CIDR "-" for a bridge without address.
bridges={{q .Bridges}}
wan={{q .WAN}}

command -v pvesh >/dev/null 2>&1 || { echo "pvesh not found: is this a Proxmox VE host?" >&2; exit 2; }
node=$(hostname)

if [ -n "$wan" ] && ! ip link show dev "$wan" >/dev/null 2>&1; then
	echo "the WAN bridge $wan does not exist: the Proxmox VE install step makes it (network.wan_bridge in the site file)" >&2
	exit 2
fi

changed=""
for b in $bridges; do
	name=${b%%=*}
	cidr=${b#*=}
	if ! pvesh get "/nodes/$node/network/$name" --output-format json >/dev/null 2>&1; then
		todo "create bridge $name"
		if [ -e /etc/network/interfaces.new ]; then
			echo "there are pending network changes in /etc/network/interfaces.new: apply or revert them (web interface: System, Network) first" >&2
			exit 2
		fi
		if [ "$cidr" = - ]; then
			pvesh create "/nodes/$node/network" --iface "$name" --type bridge --autostart 1 --comments collabstack
		else
			pvesh create "/nodes/$node/network" --iface "$name" --type bridge --autostart 1 --cidr "$cidr" --comments collabstack
		fi
		changed=1
	elif [ "$cidr" != - ] && ! ip -o -4 addr show dev "$name" 2>/dev/null | grep -q " $cidr "; then
		todo "give bridge $name the address $cidr"
		pvesh set "/nodes/$node/network/$name" --type bridge --autostart 1 --cidr "$cidr"
		changed=1
	elif ! ip link show dev "$name" >/dev/null 2>&1; then
		todo "bring up bridge $name"
		changed=1
	fi
done
if [ -n "$changed" ]; then
	pvesh set "/nodes/$node/network"
	echo "applied the network configuration (ifreload)"
fi
