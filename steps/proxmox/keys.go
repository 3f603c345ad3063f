package proxmox

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/internal/atomicfile"
)

// KeyPath is the private key collabstack logs in to its VMs with; cloud-init
// (Debian) and the first-boot script (OpenWrt) put its public half into
// the VMs. It lives in the state directory, made on first use.
func KeyPath(stateDir string) string { return filepath.Join(stateDir, "proxmox", "id_ed25519") }

var keyMu sync.Mutex

// EnsureKey makes the VM key pair at path unless it exists and returns
// the public key as an authorized_keys line.
func EnsureKey(path string) (string, error) {
	keyMu.Lock()
	defer keyMu.Unlock()
	if data, err := os.ReadFile(path); err == nil {
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return "", fmt.Errorf("read the VM key %s: %w: remove it to make a new one (the VMs then need the new key)", path, err)
		}
		return authorizedLine(signer.PublicKey()), nil
	} else if !os.IsNotExist(err) {
		return "", fmt.Errorf("read the VM key %s: %w", path, err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("make the VM key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "collabstack-vms")
	if err != nil {
		return "", fmt.Errorf("make the VM key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", fmt.Errorf("save the VM key %s: %w", path, err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return "", err
	}
	line := authorizedLine(sshPub)
	if err := atomicfile.Write(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("save the VM key %s.pub: %w", path, err)
	}
	return line, nil
}

func authorizedLine(k ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))) + " collabstack"
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
