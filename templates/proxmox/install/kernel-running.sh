# Whether the host runs the Proxmox VE kernel (read only; the step reboots
# through collabstack's connection): done when Proxmox VE is installed
# already, or when the running kernel's image belongs to a Proxmox kernel
# package.
echo "running kernel: $(uname -r)"
if pve_installed || running_pve_kernel; then
	exit 0
fi
todo "reboot into the Proxmox VE kernel (the running kernel $(uname -r) is not one)"
