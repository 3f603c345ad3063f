// Package lab is the lab topology: containers on this machine that boot
// like servers (systemd as PID 1, sshd, their own dockerd), so the whole
// install can be tried, and tested, without spare hardware.
//
// A node is a Debian bookworm root file system made with debootstrap and
// imported into the local dockerd (no registry is needed), started with
// just the capabilities systemd and a nested dockerd need (not
// --privileged). Each node gets its own ed25519 host key and collabstack's
// lab key in root's authorized_keys; both live in the state directory, so
// a node re-created after `lab down` keeps its host key and pinned
// known_hosts entries stay valid.
package lab

import (
	"fmt"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/site"
)

// Image variants for site.Lab.Image; any other value names an existing
// image that boots systemd and runs sshd.
const (
	// ImageBase is the bare host image: the install steps put Docker on it.
	ImageBase = "base"
	// ImageDocker is the base image with the distribution's docker.io
	// already installed, for speed.
	ImageDocker = "docker"
)

// Docker object labels, so lab down finds what lab up made.
const (
	labelLab  = "org.collabstack.lab"
	labelNode = "org.collabstack.lab.node"
)

// Options describe a lab.
type Options struct {
	// Nodes is how many nodes to run (default 2).
	Nodes int
	// Network is the docker network of the lab (default collabstack-lab);
	// container and volume names start with it.
	Network string
	// Subnet, when set, is the network's subnet; nodes then get fixed
	// addresses (.11 for lab-1, .12 for lab-2, ...).
	Subnet string
	// Image is ImageBase (default), ImageDocker or an image name.
	Image string
	// StateDir holds the lab key pair and the nodes' host keys.
	StateDir string
	// Mirror is the Debian mirror debootstrap and apt use
	// (default http://deb.debian.org/debian).
	Mirror string
	// Host is where dockerd runs (default: this machine).
	Host host.Host
	// Out receives progress lines.
	Out func(line string)
}

// Node is one running (or stopped) lab node.
type Node struct {
	Name      string // lab-1
	Container string // collabstack-lab-1
	Address   string // its address on the lab network
	Running   bool
	Role      string
	Labels    map[string]string
}

// Defaults.
const (
	DefaultMirror         = "http://deb.debian.org/debian"
	DefaultSecurityMirror = "http://deb.debian.org/debian-security"
	Suite                 = "bookworm"
)

// OptionsFor returns the lab options of a site.
func OptionsFor(s *site.Site, stateDir string) Options {
	o := Options{StateDir: stateDir}
	if s.Lab != nil {
		o.Nodes, o.Network, o.Subnet, o.Image = s.Lab.Nodes, s.Lab.Network, s.Lab.Subnet, s.Lab.Image
	}
	if o.Nodes == 0 && len(s.Hosts) > 0 {
		// A site file written by WriteSite lists the nodes as hosts.
		o.Nodes = len(s.Hosts)
	}
	return o.withDefaults()
}

func (o Options) withDefaults() Options {
	if o.Nodes <= 0 {
		o.Nodes = site.DefaultLabNodes
	}
	if o.Network == "" {
		o.Network = site.DefaultLabNet
	}
	if o.Image == "" {
		o.Image = ImageBase
	}
	if o.Mirror == "" {
		o.Mirror = DefaultMirror
	}
	if o.Host == nil {
		o.Host = host.NewLocal(layout.LocalHost)
	}
	return o
}

func (o Options) logf(format string, args ...any) {
	if o.Out != nil {
		o.Out(fmt.Sprintf(format, args...))
	}
}

// NodeName is the host name of node i (1-based): lab-1, lab-2, ...
func NodeName(i int) string { return fmt.Sprintf("lab-%d", i) }

// NodeNames lists the host names of a lab of n nodes.
func NodeNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = NodeName(i + 1)
	}
	return out
}

// RoleOf returns the role and swarm labels of node i: lab-1 is the manager
// (label infra), the others workers (label common).
func RoleOf(i int) (string, map[string]string) {
	if i == 1 {
		return site.RoleManager, map[string]string{site.NodeLabel: site.LabelInfra}
	}
	return site.RoleWorker, map[string]string{site.NodeLabel: site.LabelCommon}
}

// SiteHosts returns the site-file hosts of a lab of n nodes, without
// addresses (the node steps register those when the nodes run), so a plan
// can be built for them before they exist.
func SiteHosts(n int, stateDir string) []site.Host {
	out := make([]site.Host, 0, n)
	for i := 1; i <= n; i++ {
		role, labels := RoleOf(i)
		out = append(out, site.Host{
			Name: NodeName(i), Port: 22, User: "root", Role: role, Labels: labels,
			Auth: site.Auth{Method: site.AuthKey, KeyFile: KeyPath(stateDir)},
		})
	}
	return out
}

func containerName(network string, i int) string { return fmt.Sprintf("%s-%d", network, i) }

func volumeName(network string, i int) string { return containerName(network, i) + "-docker" }

// KeyPath is collabstack's lab private key in a state directory.
func KeyPath(stateDir string) string { return filepath.Join(stateDir, "lab", "id_ed25519") }

func hostKeyPath(stateDir, node string) string {
	return filepath.Join(stateDir, "lab", "hostkeys", node+"_ed25519")
}

// Spec is how the other steps reach node n.
// The node's host key was made on this machine, so its fingerprint is
// known before the first connection.
func (n Node) Spec(stateDir string) host.Spec {
	return host.Spec{Name: n.Name, Address: n.Address, Port: 22, User: "root", KeyFile: KeyPath(stateDir), HostKey: HostKeyFingerprint(stateDir, n.Name)}
}

// HostKeyFingerprint is the SHA256 fingerprint of the host key collabstack
// made for a lab node, "" when it has not made one.
func HostKeyFingerprint(stateDir, node string) string {
	data, err := os.ReadFile(hostKeyPath(stateDir, node) + ".pub")
	if err != nil {
		return ""
	}
	key, _, _, _, err := gossh.ParseAuthorizedKey(data)
	if err != nil {
		return ""
	}
	return gossh.FingerprintSHA256(key)
}
