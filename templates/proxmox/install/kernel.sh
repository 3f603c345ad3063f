# The Proxmox VE kernel (proxmox-default-kernel), installed before
# proxmox-ve so the host can boot into it first, as the install guide for
# Debian 12 does. An installed Proxmox VE is left as it is.
if pve_installed || installed proxmox-default-kernel; then
	exit 0
fi
todo "install the Proxmox VE kernel (proxmox-default-kernel)"
apt_update
apt_get install -y proxmox-default-kernel
