package pvesim

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
)

// Lab turns started VMs into lab containers (systemd, sshd; dockerd when
// the image has it) on a docker network, so the steps after a VM's start
// run on a real host: the container gets the VM's address on the LAN,
// its name as host name, and the user and SSH keys cloud-init would set
// (ciuser with sudo without password, sshkeys). Use OnStart and OnStop as
// the simulator's hooks; Close removes what it made.
type Lab struct {
	// Image is a lab image (lab.BaseImage, or the image of a labtest
	// node for one with Docker).
	Image string
	// Network is the docker network, made with Subnet (the site's LAN)
	// and Gateway (the address this machine gets on it) when missing.
	Network, Subnet, Gateway string
	// Keys and User stand in for cloud-init on VMs without it (OpenWrt):
	// the keys root gets. Address gives such a VM's address. HostKey, when
	// set, gives such a VM's SSH host key (OpenSSH private key), as the
	// OpenWrt first-boot script would install it; otherwise the VM makes
	// its own, as a first boot does.
	Keys    func(VM) []string
	Address func(VM) string
	HostKey func(VM) []byte
	// Logf receives progress lines (optional).
	Logf func(format string, args ...any)

	mu      sync.Mutex
	made    []string
	network bool
}

const labLabel = "org.collabstack.pvesim"

func (l *Lab) logf(format string, args ...any) {
	if l.Logf != nil {
		l.Logf(format, args...)
	}
}

func docker(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("docker %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// container is the VM's container: by name, so one Lab can serve the
// simulators of several PVE hosts.
func (l *Lab) container(vm VM) string { return l.Container(vm.Name) }

// Container is the docker container of the VM called name.
func (l *Lab) Container(name string) string { return l.Network + "-" + name }

// OnStart starts (or makes and starts) the VM's container.
func (l *Lab) OnStart(ctx context.Context, vm VM) error {
	name := l.container(vm)
	if _, err := docker(ctx, nil, "inspect", "--format", "{{.Id}}", name); err == nil {
		_, err := docker(ctx, nil, "start", name)
		return err
	}
	user, keys, addr, hostKey, err := l.identity(vm)
	if err != nil {
		return err
	}
	if err := l.ensureNetwork(ctx); err != nil {
		return err
	}
	// The host key goes in before sshd first starts, as cloud-init's
	// cc_ssh writes ssh_keys before ssh.service starts. The lab image
	// has no other host key and its sshd_config names only the ed25519
	// one, which stands for ssh_deletekeys.
	files, err := hostKeyTar(hostKey)
	if err != nil {
		return err
	}
	args := []string{"create", "--name", name, "--hostname", vm.Name, "--network", l.Network, "--ip", addr.String(),
		"--label", labLabel + "=" + l.Network}
	args = append(args, lab.RunFlags()...)
	args = append(args, "-v", "/var/lib/docker", l.Image, "/sbin/init")
	l.logf("pvesim lab: VM %d (%s) starts as container %s at %s", vm.ID, vm.Name, name, addr)
	if _, err := docker(ctx, nil, args...); err != nil {
		return err
	}
	l.mu.Lock()
	l.made = append(l.made, name)
	l.mu.Unlock()
	if _, err := docker(ctx, files, "cp", "-", name+":/"); err != nil {
		return err
	}
	if _, err := docker(ctx, nil, "start", name); err != nil {
		return err
	}
	// What cloud-init does with ciuser and sshkeys.
	var sh strings.Builder
	sh.WriteString("set -eu\n")
	home := "/root"
	if user != "root" {
		home = "/home/" + user
		fmt.Fprintf(&sh, "id -u %[1]s >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups sudo %[1]s\n", host.Quote(user))
		fmt.Fprintf(&sh, "echo %s > /etc/sudoers.d/90-cloud-init-users\nchmod 0440 /etc/sudoers.d/90-cloud-init-users\n", host.Quote(user+" ALL=(ALL) NOPASSWD:ALL"))
	}
	fmt.Fprintf(&sh, "install -d -m 0700 %s/.ssh\n", home)
	fmt.Fprintf(&sh, "printf '%%s\\n' %s > %s/.ssh/authorized_keys\n", host.Quote(strings.Join(keys, "\n")), home)
	fmt.Fprintf(&sh, "chmod 0600 %[1]s/.ssh/authorized_keys\nchown -R %[2]s: %[1]s/.ssh\n", home, host.Quote(user))
	var last error
	for i := 0; i < 50; i++ {
		if _, last = docker(ctx, []byte(sh.String()), "exec", "-i", name, "sh", "-s"); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return last
}

// Remove removes the VM's container and its volumes (the VM was deleted).
func (l *Lab) Remove(ctx context.Context, vm VM) error {
	_, err := docker(ctx, nil, "rm", "-f", "-v", l.container(vm))
	return err
}

// OnStop stops the VM's container.
func (l *Lab) OnStop(ctx context.Context, vm VM) error {
	_, err := docker(ctx, nil, "stop", "--time", "5", l.container(vm))
	return err
}

// Close removes the containers, their volumes and the network.
func (l *Lab) Close(ctx context.Context) error {
	l.mu.Lock()
	made, network := l.made, l.network
	l.made, l.network = nil, false
	l.mu.Unlock()
	var first error
	for _, c := range made {
		if _, err := docker(ctx, nil, "rm", "-f", "-v", c); err != nil && first == nil {
			first = err
		}
	}
	if network {
		if _, err := docker(ctx, nil, "network", "rm", l.Network); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// identity is the login user, keys, address and host key (nil: make
// one) of the VM's container.
func (l *Lab) identity(vm VM) (string, []string, netip.Addr, []byte, error) {
	subnet, err := netip.ParsePrefix(l.Subnet)
	if err != nil {
		return "", nil, netip.Addr{}, nil, fmt.Errorf("pvesim lab: subnet %q: %w", l.Subnet, err)
	}
	ci, err := vm.CloudInit()
	if err == nil {
		user := ci.User
		if user == "" {
			user = "root"
		}
		var hostKey []byte
		if k := ci.HostKeys["ed25519_private"]; k != "" {
			hostKey = []byte(k)
		}
		for _, iface := range ci.Interfaces {
			if iface.Address.IsValid() && subnet.Contains(iface.Address.Addr()) {
				return user, ci.Keys, iface.Address.Addr(), hostKey, nil
			}
		}
		return "", nil, netip.Addr{}, nil, fmt.Errorf("pvesim lab: VM %s has no static address in %s (ipconfig)", vm.Name, l.Subnet)
	}
	if vm.UserData != nil {
		return "", nil, netip.Addr{}, nil, err
	}
	if l.Keys == nil || l.Address == nil {
		return "", nil, netip.Addr{}, nil, fmt.Errorf("pvesim lab: VM %s has no cloud-init and the lab has no Keys and Address for it", vm.Name)
	}
	a, err := netip.ParseAddr(l.Address(vm))
	if err != nil {
		return "", nil, netip.Addr{}, nil, fmt.Errorf("pvesim lab: VM %s: %w", vm.Name, err)
	}
	var hostKey []byte
	if l.HostKey != nil {
		hostKey = l.HostKey(vm)
	}
	return "root", l.Keys(vm), a, hostKey, nil
}

func (l *Lab) ensureNetwork(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := docker(ctx, nil, "network", "inspect", l.Network); err == nil {
		return nil
	}
	args := []string{"network", "create", "--subnet", l.Subnet, "--label", labLabel + "=" + l.Network}
	if l.Gateway != "" {
		args = append(args, "--gateway", l.Gateway)
	}
	if _, err := docker(ctx, nil, append(args, l.Network)...); err != nil {
		return err
	}
	l.network = true
	return nil
}

// hostKeyTar is a tar with the host key given (an OpenSSH private key),
// or with a fresh ed25519 key, as a first boot makes one.
func hostKeyTar(given []byte) ([]byte, error) {
	var priv any
	if given != nil {
		k, err := ssh.ParseRawPrivateKey(given)
		if err != nil {
			return nil, fmt.Errorf("pvesim lab: host key: %w", err)
		}
		priv = k
	} else {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		priv = k
	}
	block, err := ssh.MarshalPrivateKey(priv.(crypto.PrivateKey), "")
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	now := time.Now()
	for _, f := range []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/ssh/ssh_host_ed25519_key", 0o600, pem.EncodeToMemory(block)},
		{"etc/ssh/ssh_host_ed25519_key.pub", 0o644, ssh.MarshalAuthorizedKey(signer.PublicKey())},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		tw.Write(f.data)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
