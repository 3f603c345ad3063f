package proxmox

import (
	"net"
	"net/netip"
	"path/filepath"

	"github.com/collabstack/collabstack/steps/sshkey"
)

// KeyPath is the private key collabstack logs in to its VMs with; cloud-init
// (Debian) and the first-boot script (OpenWrt) put its public half into
// the VMs. It lives in the state directory, made on first use.
func KeyPath(stateDir string) string { return filepath.Join(stateDir, "proxmox", "id_ed25519") }

// EnsureKey makes the VM key pair at path unless it exists and returns
// the public key as an authorized_keys line (steps/sshkey, the one key
// helper).
func EnsureKey(path string) (string, error) {
	return sshkey.Ensure(path, sshkey.Comment)
}

// LocallyRoutable reports whether this machine has an interface on a
// network that holds addr: then a VM is reached directly, otherwise
// through its PVE host.
func LocallyRoutable(addr netip.Addr) bool {
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range ifs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ones, _ := n.Mask.Size()
		if netip.PrefixFrom(ip.Unmap(), ones).Masked().Contains(addr) {
			return true
		}
	}
	return false
}
