// Package site is the site file: every answer of the wizard, so that
// `collabstack apply` can run headless. It parses strictly (unknown keys are
// rejected with a did-you-mean), fills safe defaults and validates every
// field with an error that names it and says how to fix it. Secrets never
// live here: hosts refer to them by name (password_ref).
package site

// Version is the schema version this binary reads and writes.
const Version = 1

// Topologies.
const (
	TopologyLab    = "lab"    // containers on this machine that boot like servers
	TopologyKopnik = "kopnik" // existing Linux hosts: a server plus a standby
	TopologySingle = "single" // one Proxmox VE box
	TopologyFull   = "full"   // router box + server, both Proxmox VE
)

// Topologies lists the accepted topology names.
var Topologies = []string{TopologyLab, TopologyKopnik, TopologySingle, TopologyFull}

// Host roles.
const (
	RoleManager   = "manager"    // swarm manager (label infra)
	RoleWorker    = "worker"     // swarm worker (label common)
	RoleStandby   = "standby"    // kopnik standby server
	RolePVEServer = "pve-server" // Proxmox VE host for the swarm VMs
	RolePVERouter = "pve-router" // Proxmox VE host for the router VMs
	RoleRouter    = "router"     // an existing OpenWrt router
	RoleVPN       = "vpn"        // an existing Debian host for SoftEther
)

// Roles lists the accepted host roles.
var Roles = []string{RoleManager, RoleWorker, RoleStandby, RolePVEServer, RolePVERouter, RoleRouter, RoleVPN}

// TLS modes.
const (
	TLSLetsEncrypt        = "letsencrypt"
	TLSLetsEncryptStaging = "letsencrypt-staging"
	TLSSelfSigned         = "self-signed"
)

// TLSModes lists the accepted TLS modes.
var TLSModes = []string{TLSLetsEncrypt, TLSLetsEncryptStaging, TLSSelfSigned}

// Image sources.
const (
	ImagesPull   = "pull"
	ImagesMirror = "mirror"
	ImagesBundle = "bundle"
)

// ImageSources lists the accepted image sources.
var ImageSources = []string{ImagesPull, ImagesMirror, ImagesBundle}

// Auth methods.
const (
	AuthKey      = "key"
	AuthAgent    = "agent"
	AuthPassword = "password"
)

// AuthMethods lists the accepted SSH auth methods.
var AuthMethods = []string{AuthKey, AuthAgent, AuthPassword}

// Site is a whole site file.
type Site struct {
	Version    int                  `yaml:"version"`
	Name       string               `yaml:"name,omitempty"`
	Topology   string               `yaml:"topology"`
	Domain     string               `yaml:"domain"`
	AdminEmail string               `yaml:"admin_email"`
	TLS        TLS                  `yaml:"tls,omitempty"`
	Hosts      []Host               `yaml:"hosts,omitempty"`
	Lab        *Lab                 `yaml:"lab,omitempty"`
	Prepare    Prepare              `yaml:"prepare,omitempty"`
	Proxmox    *Proxmox             `yaml:"proxmox,omitempty"`
	Network    *Network             `yaml:"network,omitempty"`
	Images     Images               `yaml:"images,omitempty"`
	Firewall   Firewall             `yaml:"firewall,omitempty"`
	Backup     *Backup              `yaml:"backup,omitempty"`
	Components map[string]Component `yaml:"components,omitempty"`
	// StateDir holds the journal, secrets and pinned host keys; relative
	// paths are relative to the site file. Default: <site file>.state
	StateDir string `yaml:"state_dir,omitempty"`
}

// TLS says how the edge gets its certificates.
type TLS struct {
	Mode string `yaml:"mode,omitempty"`
	// ACMEServer replaces Let's Encrypt's directory URL with another ACME
	// CA's (a company CA such as step-ca, or Pebble in tests).
	ACMEServer string `yaml:"acme_server,omitempty"`
	// ACMECA is a PEM file on this machine with the CA that signed the
	// ACME server's own HTTPS certificate, when it is not publicly trusted.
	ACMECA string `yaml:"acme_ca,omitempty"`
}

// Let's Encrypt's ACME directories.
const (
	LetsEncryptDirectory        = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStagingDirectory = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// ACMEDirectory is the ACME server the site's certificates come from; ""
// for self-signed.
func (t TLS) ACMEDirectory() string {
	switch {
	case t.Mode == TLSSelfSigned:
		return ""
	case t.ACMEServer != "":
		return t.ACMEServer
	case t.Mode == TLSLetsEncryptStaging:
		return LetsEncryptStagingDirectory
	default:
		return LetsEncryptDirectory
	}
}

// Host is a machine collabstack reaches over SSH.
type Host struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	Port    int    `yaml:"port,omitempty"`
	User    string `yaml:"user,omitempty"`
	Auth    Auth   `yaml:"auth,omitempty"`
	// Sudo runs privileged commands through sudo; default true unless the
	// user is root.
	Sudo *bool `yaml:"sudo,omitempty"`
	// SudoPasswordRef names the secret holding the sudo password, when
	// sudo asks for one.
	SudoPasswordRef string            `yaml:"sudo_password_ref,omitempty"`
	Role            string            `yaml:"role"`
	Labels          map[string]string `yaml:"labels,omitempty"`
	// Jump names a host to tunnel through.
	Jump string `yaml:"jump,omitempty"`
	// HostKey is the SHA256 fingerprint of the host's SSH key
	// (SHA256:..., as `ssh-keygen -lf` prints it), so that a headless
	// apply can trust the host on its first connection.
	HostKey string `yaml:"host_key,omitempty"`
}

// Auth says how to log in.
type Auth struct {
	Method  string `yaml:"method,omitempty"`
	KeyFile string `yaml:"key_file,omitempty"`
	// PasswordRef names the login password: a secret in the secrets file,
	// or env:VAR for an environment variable.
	PasswordRef string `yaml:"password_ref,omitempty"`
}

// Lab describes the local lab of containers (topology lab).
type Lab struct {
	Nodes   int    `yaml:"nodes,omitempty"`
	Network string `yaml:"network,omitempty"`
	Subnet  string `yaml:"subnet,omitempty"`
	Image   string `yaml:"image,omitempty"`
}

// Prepare tunes the preparation of existing Linux hosts.
type Prepare struct {
	// AdminUser is created on every host (seed 002: ubuntu); its password
	// is generated into the secrets file.
	AdminUser string `yaml:"admin_user,omitempty"`
	// SFTPRoot is the chroot of the SFTP account.
	SFTPRoot string `yaml:"sftp_root,omitempty"`
	// XFCE installs a bare XFCE started only by startxfce4.
	XFCE bool `yaml:"xfce,omitempty"`
	// Docker is "distro" (the distribution's package) or "docker-repo".
	Docker string `yaml:"docker,omitempty"`
	// Node is the Node.js version nvm installs ("lts" or a version).
	Node string `yaml:"node,omitempty"`
	// NTP is the time server list; empty keeps the distribution's.
	NTP []string `yaml:"ntp,omitempty"`
	// KeepPasswordLogin leaves sshd's password authentication on; by
	// default it is turned off once collabstack's key logs in (root never
	// logs in with a password either way).
	KeepPasswordLogin bool `yaml:"keep_password_login,omitempty"`
}

// Proxmox describes the VMs to create on the PVE hosts.
type Proxmox struct {
	Storage string `yaml:"storage,omitempty"`
	VMs     []VM   `yaml:"vms,omitempty"`
}

// VM is one virtual machine on a PVE host.
type VM struct {
	Name     string            `yaml:"name"`
	On       string            `yaml:"on"`
	Kind     string            `yaml:"kind"` // debian, openwrt
	Cores    int               `yaml:"cores,omitempty"`
	MemoryMB int               `yaml:"memory_mb,omitempty"`
	DiskGB   int               `yaml:"disk_gb,omitempty"`
	Address  string            `yaml:"address,omitempty"` // CIDR on the LAN
	Role     string            `yaml:"role,omitempty"`
	Labels   map[string]string `yaml:"labels,omitempty"`
	Bridges  []string          `yaml:"bridges,omitempty"`
}

// VM kinds.
const (
	VMDebian  = "debian"
	VMOpenWrt = "openwrt"
)

// Network describes the routed networks (topologies single and full).
type Network struct {
	LAN        string   `yaml:"lan,omitempty"`
	Gateway    string   `yaml:"gateway,omitempty"`
	VPN        string   `yaml:"vpn,omitempty"`
	WANBridge  string   `yaml:"wan_bridge,omitempty"`
	LANBridge  string   `yaml:"lan_bridge,omitempty"`
	VPNBridge  string   `yaml:"vpn_bridge,omitempty"`
	Upstreams  []string `yaml:"dns_upstreams,omitempty"`
	VPNUsers   []string `yaml:"vpn_users,omitempty"`
	PublicIPv4 string   `yaml:"public_ipv4,omitempty"`
}

// Images says where images come from.
type Images struct {
	Source string `yaml:"source,omitempty"`
	Mirror string `yaml:"mirror,omitempty"`
	Bundle string `yaml:"bundle,omitempty"`
}

// Component is one chosen component with its options.
type Component struct {
	// Options are per-component settings; the app's metadata says which.
	Options map[string]any `yaml:"options,omitempty"`
	// On pins the component to a host label value (infra, common).
	Placement string `yaml:"placement,omitempty"`
}
