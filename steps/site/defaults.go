package site

import (
	"fmt"
	"net/netip"
	"strings"
)

// Defaults for fields the user may leave out.
const (
	DefaultSSHPort   = 22
	DefaultUser      = "root"
	DefaultKeyFile   = "~/.ssh/id_ed25519"
	DefaultAdminUser = "ubuntu"
	DefaultLabNodes  = 2
	DefaultLabNet    = "collabstack-lab"
	DefaultLAN       = "10.10.0.0/24"
	DefaultVPN       = "10.20.0.0/24"
	LabelInfra       = "infra"
	LabelCommon      = "common"
	// NodeLabel is the swarm node label placement constraints use:
	// node.labels.role == infra.
	NodeLabel = "role"
)

// ApplyDefaults fills every field the user left out with a safe default.
// It never overrides what the user wrote.
func (s *Site) ApplyDefaults() {
	if s.Name == "" {
		s.Name = strings.Split(s.Domain, ".")[0]
		if s.Name == "" {
			s.Name = "site"
		}
	}
	if s.TLS.Mode == "" {
		s.TLS.Mode = TLSLetsEncrypt
		if s.Topology == TopologyLab {
			s.TLS.Mode = TLSSelfSigned
		}
	}
	if s.Images.Source == "" {
		s.Images.Source = ImagesPull
	}
	for i := range s.Hosts {
		s.Hosts[i].applyDefaults()
	}
	if s.Topology == TopologyLab {
		if s.Lab == nil {
			s.Lab = &Lab{}
		}
		if s.Lab.Nodes == 0 && len(s.Hosts) == 0 {
			s.Lab.Nodes = DefaultLabNodes
		}
		if s.Lab.Network == "" {
			s.Lab.Network = DefaultLabNet
		}
	}
	p := &s.Prepare
	if p.AdminUser == "" {
		p.AdminUser = DefaultAdminUser
	}
	if p.SFTPRoot == "" {
		p.SFTPRoot = "/home/" + p.AdminUser + "/sftp"
	}
	if p.Docker == "" {
		p.Docker = "distro"
	}
	if p.Node == "" {
		p.Node = "lts"
		if s.Topology == TopologyLab {
			// The lab works anywhere: Debian's nodejs needs only the
			// Debian mirror, nvm needs GitHub and nodejs.org.
			p.Node = "distro"
		}
	}
	if s.Topology == TopologySingle || s.Topology == TopologyFull {
		s.defaultNetwork()
		s.defaultVMs()
	}
}

func (h *Host) applyDefaults() {
	if h.Port == 0 {
		h.Port = DefaultSSHPort
	}
	if h.User == "" {
		h.User = DefaultUser
	}
	if h.Auth.Method == "" {
		switch {
		case h.Auth.PasswordRef != "":
			h.Auth.Method = AuthPassword
		default:
			h.Auth.Method = AuthKey
		}
	}
	if h.Auth.Method == AuthKey && h.Auth.KeyFile == "" {
		h.Auth.KeyFile = DefaultKeyFile
	}
	if h.Sudo == nil {
		sudo := h.User != "root"
		h.Sudo = &sudo
	}
	if h.Labels == nil {
		switch h.Role {
		case RoleManager:
			h.Labels = map[string]string{NodeLabel: LabelInfra}
		case RoleWorker:
			h.Labels = map[string]string{NodeLabel: LabelCommon}
		}
	}
}

func (s *Site) defaultNetwork() {
	if s.Network == nil {
		s.Network = &Network{}
	}
	n := s.Network
	if n.LAN == "" {
		n.LAN = DefaultLAN
	}
	if n.VPN == "" {
		n.VPN = DefaultVPN
	}
	if n.Gateway == "" {
		if p, err := netip.ParsePrefix(n.LAN); err == nil {
			n.Gateway = p.Masked().Addr().Next().String()
		}
	}
	if n.WANBridge == "" {
		n.WANBridge = "vmbr0"
	}
	if n.LANBridge == "" {
		n.LANBridge = "vmbr1"
	}
	if n.VPNBridge == "" {
		n.VPNBridge = "vmbr2"
	}
	if len(n.Upstreams) == 0 {
		n.Upstreams = []string{"9.9.9.9", "1.1.1.1"}
	}
}

// defaultVMs lays out seed 000's machines when the user lists none.
func (s *Site) defaultVMs() {
	if s.Proxmox == nil {
		s.Proxmox = &Proxmox{}
	}
	if s.Proxmox.Storage == "" {
		s.Proxmox.Storage = "local-lvm"
	}
	if len(s.Proxmox.VMs) > 0 {
		return
	}
	router, server := s.hostWithRole(RolePVERouter), s.hostWithRole(RolePVEServer)
	if router == "" {
		router = server
	}
	n := s.Network
	addr := func(i int) string {
		p, err := netip.ParsePrefix(n.LAN)
		if err != nil {
			return ""
		}
		a := p.Masked().Addr()
		for ; i > 0; i-- {
			a = a.Next()
		}
		return fmt.Sprintf("%s/%d", a, p.Bits())
	}
	s.Proxmox.VMs = []VM{
		{Name: "outer-openwrt", On: router, Kind: VMOpenWrt, Cores: 1, MemoryMB: 512, DiskGB: 1, Address: addr(1), Role: RoleRouter, Bridges: []string{n.WANBridge, n.LANBridge}},
		{Name: "vpn-openwrt", On: router, Kind: VMOpenWrt, Cores: 1, MemoryMB: 512, DiskGB: 1, Address: addr(2), Role: RoleRouter, Bridges: []string{n.LANBridge, n.VPNBridge}},
		{Name: "vpn-softether", On: router, Kind: VMDebian, Cores: 2, MemoryMB: 1024, DiskGB: 8, Address: addr(3), Role: RoleVPN, Bridges: []string{n.LANBridge, n.VPNBridge}},
		{Name: "swarm-manager", On: server, Kind: VMDebian, Cores: 4, MemoryMB: 8192, DiskGB: 100, Address: addr(11), Role: RoleManager, Labels: map[string]string{NodeLabel: LabelInfra}, Bridges: []string{n.LANBridge}},
		{Name: "swarm-worker", On: server, Kind: VMDebian, Cores: 8, MemoryMB: 32768, DiskGB: 400, Address: addr(12), Role: RoleWorker, Labels: map[string]string{NodeLabel: LabelCommon}, Bridges: []string{n.LANBridge}},
	}
}

func (s *Site) hostWithRole(role string) string {
	for _, h := range s.Hosts {
		if h.Role == role {
			return h.Name
		}
	}
	return ""
}

// HostsWithRole returns the hosts that have the role, in file order.
func (s *Site) HostsWithRole(role string) []Host {
	var out []Host
	for _, h := range s.Hosts {
		if h.Role == role {
			out = append(out, h)
		}
	}
	return out
}
