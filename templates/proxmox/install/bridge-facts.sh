# What the bridge is built from (read only): the NIC of the IPv4 default
# route, its address, gateway and MAC, and how /etc/network/interfaces
# configures it. Prints KEY=VALUE lines; EXTRA= lines are the dns-*
# options of the NIC's stanza, carried over to the bridge; OTHER_IFACE=
# lines name the other interfaces the file configures.
file=/etc/network/interfaces
route=$(ip -4 route show default | head -n 1)
nic=$(printf '%s\n' "$route" | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
gateway=$(printf '%s\n' "$route" | awk '{ for (i = 1; i < NF; i++) if ($i == "via") { print $(i + 1); exit } }')
echo "NIC=$nic"
echo "GATEWAY=$gateway"
[ -n "$nic" ] || exit 0
echo "ADDRESS=$(ip -4 -o addr show dev "$nic" scope global | awk '{ print $4; exit }')"
if ip -4 -o addr show dev "$nic" scope global | grep -q ' dynamic'; then
	echo "DYNAMIC=1"
fi
echo "MAC=$(cat "/sys/class/net/$nic/address" 2>/dev/null || true)"
if [ -d "/sys/class/net/$nic/bridge" ]; then
	echo "IS_BRIDGE=1"
fi
[ -f "$file" ] || exit 0
# The NIC's stanza: its method and its dns-* options.
awk -v nic="$nic" '
	$1 == "iface" && $2 == nic && $3 == "inet" { inside = 1; print "METHOD=" $4; next }
	$1 == "iface" && $2 == nic && $3 == "inet6" { print "INET6=1"; inside = 0; next }
	$1 == "iface" && $2 != nic && $2 != "lo" && !seen[$2]++ { print "OTHER_IFACE=" $2 }
	$1 ~ /^(iface|auto|allow-|source|mapping)/ { inside = 0 }
	inside && $1 ~ /^dns-/ { sub(/^[ \t]+/, ""); print "EXTRA=" $0 }
' "$file"
# The new file sources /etc/network/interfaces.d/ (as Debian's and Proxmox
# VE's do): files there must not configure the NIC.
for f in /etc/network/interfaces.d/*; do
	[ -f "$f" ] || continue
	if grep -qE "^[[:space:]]*(iface|auto|allow-[a-z]+)[[:space:]]+([^#]*[[:space:]])?$nic([[:space:]]|$)" "$f"; then
		echo "OTHER_FILE=$f"
	fi
done
