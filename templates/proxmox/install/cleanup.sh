# After Proxmox VE is in, as the install guide for Debian 12 recommends:
# remove the Debian kernel (only while running a Proxmox kernel) and
# os-prober (it would add the VMs' disks to the boot menu), and update
# GRUB. When collabstack added the no-subscription repository, the
# enterprise repository the packages bring along is commented out (it
# answers 401 without a subscription, which fails apt update).
debian_kernels=$(installed_like linux-image-amd64 'linux-image-6.1*' | tr '\n' ' ')
if [ -n "$debian_kernels" ]; then
	todo "remove the Debian kernel ($debian_kernels)"
	if ! running_pve_kernel; then
		echo "the host runs $(uname -r), not a Proxmox VE kernel: the Debian kernel is kept so the host can still boot; reboot into the Proxmox kernel (GRUB, Advanced options) and run apply again" >&2
		exit 1
	fi
	# shellcheck disable=SC2086 # one word per package
	apt_get remove -y $debian_kernels
	if command -v update-grub >/dev/null 2>&1; then
		update-grub
	fi
fi
if installed os-prober; then
	todo "remove os-prober"
	apt_get remove -y os-prober
fi
if [ -f /etc/apt/sources.list.d/pve-install-repo.list ]; then
	for f in /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		if grep -qE '^[[:space:]]*deb.*(enterprise\.proxmox\.com|[[:space:]]pve-enterprise([[:space:]]|$))' "$f"; then
			todo "comment out the enterprise repository in $f (no subscription; collabstack uses pve-no-subscription)"
			sed -i -E 's/^([[:space:]]*deb.*(enterprise\.proxmox\.com|[[:space:]]pve-enterprise([[:space:]]|$)))/# \1/' "$f"
		fi
	done
fi
