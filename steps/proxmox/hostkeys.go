package proxmox

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/sshkey"
	"github.com/collabstack/collabstack/templates"
)

// A VM's SSH host key is made by collabstack, not by the VM: the create
// step of a Debian VM makes a new ed25519 key (HostKeyPath, 0600 in the
// state directory), hands it to cloud-init in the VM's user data (a
// snippet on the PVE host, 0600) and the VM is registered with that
// key's fingerprint (host.Spec.HostKeyIssued), so even the first
// connection is verified and a VM made anew replaces its old pin. An
// OpenWrt VM gets its key in the first-boot script of its disk image, in
// dropbear's format.

const userDataFile = "proxmox/cloud-init/user.yaml"

// HostKeyPath is the private host key collabstack made for the VM called
// vm; its public half is beside it (.pub).
func HostKeyPath(stateDir, vm string) string {
	return filepath.Join(stateDir, "proxmox", "hostkeys", vm+"_ed25519")
}

// HostKeyFingerprint is the SHA256 fingerprint of the host key
// collabstack made for the VM, "" when it made none (a VM made before
// collabstack issued host keys, or a state directory that lost them).
func HostKeyFingerprint(stateDir, vm string) string {
	return sshkey.Fingerprint(HostKeyPath(stateDir, vm))
}

// UserDataSnippet is the snippet file of a Debian VM's user data.
func UserDataSnippet(vm string) string { return "collabstack-" + vm + "-user.yaml" }

// UserData is what UserDataFile is rendered from.
type UserData struct {
	Hostname, User, AuthorizedKey string
	HostKeyPrivate, HostKeyPublic string
}

// Render renders the VM's cloud-init user data; every value goes through
// the yaml escaper, so it stays data whatever it holds.
func (u UserData) Render() ([]byte, error) {
	return templates.Render(userDataFile, u, nil)
}

// issueUserData makes the VM a new host key and renders its user data.
func (x *Set) issueUserData(vm string, user, authorized string) ([]byte, error) {
	priv, pub, err := sshkey.Issue(HostKeyPath(x.stateDir, vm), "")
	if err != nil {
		return nil, err
	}
	return UserData{Hostname: vm, User: user, AuthorizedKey: authorized, HostKeyPrivate: string(priv), HostKeyPublic: pub}.Render()
}

// SnippetWriter writes a snippet (a volume "storage:snippets/name") onto
// a PVE host, readable by root only.
type SnippetWriter func(ctx context.Context, env *engine.Env, pveHost, volume string, data []byte) error

// WriteSnippetOverSSH is the default SnippetWriter: pvesm path finds the
// file of the volume on the PVE host (env.Host), and the snippet is
// uploaded there atomically, mode 0600, owned by root (qemu-server reads
// it as root when it builds the cloud-init drive).
func WriteSnippetOverSSH(ctx context.Context, env *engine.Env, pveHost, volume string, data []byte) error {
	out, err := env.Host.Run(ctx, "pvesm path "+host.Quote(volume), host.RunOpts{Sudo: true})
	if err != nil {
		return engine.WithHint(fmt.Errorf("find the file of %s on %s: %w", volume, pveHost, err), "the storage step enables content snippets on the storage")
	}
	p := strings.TrimSpace(out)
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "\n") || path.Base(p) != path.Base(volume) {
		return fmt.Errorf("pvesm path %s on %s printed %q, not a file path", volume, pveHost, p)
	}
	if err := env.Host.Upload(ctx, p, data, 0o600, "root"); err != nil {
		return fmt.Errorf("write the snippet %s on %s: %w", volume, pveHost, err)
	}
	return nil
}
