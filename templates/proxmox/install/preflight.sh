# Preflight of a Proxmox VE install on Debian 12: reads the host, changes
# nothing. Each problem is printed as "problem: what" followed by
# "fix: what to do"; warnings as "warn: ...". With problems it exits 100
# (MODE=check) or 1 (MODE=apply); without, 0.
# MIN_MEM_MB and MIN_DISK_GB are what the plan's VMs need plus the host's
# own share; REQUIRE_VIRT 1 makes missing CPU virtualization a problem, 0
# a warning.
MIN_MEM_MB={{q .MinMemMB}}
MIN_DISK_GB={{q .MinDiskGB}}
REQUIRE_VIRT={{q .RequireVirt}}

if pve_installed; then
	echo "ok: Proxmox VE is installed already ($(pveversion | head -n 1)): nothing to check"
	exit 0
fi

problems=0
problem() {
	echo "problem: $1"
	echo "fix: $2"
	problems=$((problems + 1))
}

# Debian 12 (bookworm) on amd64.
id="" version_id="" codename=""
if [ -r /etc/os-release ]; then
	# shellcheck source=/dev/null # the host's, read at run time
	. /etc/os-release
	id=${ID:-} version_id=${VERSION_ID:-} codename=${VERSION_CODENAME:-}
fi
if [ "$id" != debian ] || [ "$version_id" != 12 ]; then
	problem "the host runs ${PRETTY_NAME:-an unknown system} ($id $version_id $codename), not Debian 12 (bookworm)" \
		"Proxmox VE 8 installs on Debian 12 only: reinstall the host with Debian 12 (or install it from the Proxmox VE ISO), then run apply again"
fi
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
if [ "$arch" != amd64 ]; then
	problem "the host's architecture is $arch, not amd64" \
		"Proxmox VE is built for amd64 (x86-64) only: use an x86-64 machine"
fi

# CPU virtualization (Intel VT-x: vmx, AMD-V: svm).
if ! grep -qE '^flags.*\b(vmx|svm)\b' /proc/cpuinfo; then
	if [ "$REQUIRE_VIRT" = 1 ]; then
		problem "the CPU does not offer hardware virtualization (no vmx or svm flag in /proc/cpuinfo)" \
			"enable Intel VT-x / AMD-V (often called SVM Mode or Virtualization Technology) in the BIOS/UEFI setup and power-cycle the host; in a VM, enable nested virtualization on its hypervisor"
	else
		echo "warn: the CPU does not offer hardware virtualization (no vmx or svm flag): VMs would need kvm: 0 and run slowly; allowed by the options of this run"
	fi
fi

# Memory: the VMs of the plan plus the host's own share.
mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
mem_mb=$((mem_kb / 1024))
if [ "$mem_mb" -lt "$MIN_MEM_MB" ]; then
	problem "the host has ${mem_mb} MB of RAM; the plan needs ${MIN_MEM_MB} MB (its VMs on this host plus the host's own share)" \
		"add RAM, or give this host's VMs less memory (memory_mb under proxmox.vms in the site file), or move VMs to another host"
fi

# Disk: free space where VM disks can go: the file system of /var/lib/vz
# (the "local" storage) or the free space of an LVM volume group.
dir=/var/lib/vz
while [ ! -d "$dir" ]; do dir=$(dirname "$dir"); done
fs_gb=$(df -P -k "$dir" | awk 'NR == 2 { print int($4 / 1048576) }')
vg_gb=0
if command -v vgs >/dev/null 2>&1; then
	vg_gb=$(vgs --noheadings --units g --nosuffix -o vg_free 2>/dev/null | awk '{ if (int($1) > m) m = int($1) } END { print m + 0 }')
fi
free_gb=$fs_gb
[ "$vg_gb" -gt "$free_gb" ] && free_gb=$vg_gb
if [ "$free_gb" -lt "$MIN_DISK_GB" ]; then
	problem "the host has ${free_gb} GB free for VM disks (${fs_gb} GB on the file system of $dir, ${vg_gb} GB in LVM volume groups); the plan needs ${MIN_DISK_GB} GB" \
		"free or add disk space, or give this host's VMs smaller disks (disk_gb under proxmox.vms in the site file)"
fi

# The host name must resolve to the host's own address (not 127.0.1.1),
# as the Proxmox VE install guide asks: pve-cluster relies on it.
short=$(hostname -s 2>/dev/null || hostname)
fqdn=$(hostname -f 2>/dev/null || echo "$short")
src=$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "src") { print $(i + 1); exit } }')
resolved=$(hostname --ip-address 2>/dev/null || true)
if [ -z "$src" ]; then
	problem "the host has no IPv4 default route" \
		"give the host a static IPv4 address and a default gateway in /etc/network/interfaces, then run apply again"
else
	case " $resolved " in
	*" $src "*) bad_loop="" ;;
	*) bad_loop=missing ;;
	esac
	for a in $resolved; do
		case "$a" in
		127.*) bad_loop=loopback ;;
		esac
	done
	if [ -n "$bad_loop" ]; then
		problem "the host name $short resolves to '${resolved:-nothing}', not to the host's address $src" \
			"in /etc/hosts, remove the line with 127.0.1.1 and add '$src $fqdn $short' (when the host name has no domain, use e.g. '$src $short.lan $short'), then run apply again"
	fi
fi

# Packages that fight Proxmox VE for the network or the firewall.
for p in network-manager netplan.io; do
	if installed "$p"; then
		problem "$p is installed: Proxmox VE configures the network with ifupdown2 in /etc/network/interfaces" \
			"move the network configuration to /etc/network/interfaces (an 'iface' stanza for the main NIC) and remove $p (apt-get purge $p), from the console, then run apply again"
	fi
done
for p in docker.io docker-ce podman; do
	if installed "$p"; then
		problem "$p is installed on the host: its firewall rules (FORWARD policy DROP with br_netfilter) cut the VMs' bridged traffic" \
			"run containers inside a VM instead: remove $p from this host (apt-get purge $p), then run apply again"
	fi
done
if installed cloud-init && ! grep -rqs 'config: *disabled' /etc/cloud/cloud.cfg.d/; then
	problem "cloud-init manages the network and may rewrite it at boot, undoing the bridge" \
		"write 'network: {config: disabled}' to /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg (or remove cloud-init), then run apply again"
fi

if [ "$problems" -gt 0 ]; then
	if [ "${MODE:-apply}" = check ]; then
		exit 100
	fi
	exit 1
fi
echo "ok: Debian $version_id ($codename) $arch, ${mem_mb} MB RAM, ${free_gb} GB free for VM disks, $short resolves to $src"
