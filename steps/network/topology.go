package network

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"

	"github.com/collabstack/collabstack/steps/site"
)

// Router kinds: the outer router faces the internet (WAN to LAN, port
// forwards); the VPN router sits between the LAN and the VPN segment and
// NATs the VPN clients into the LAN.
const (
	RouterOuter = "outer"
	RouterVPN   = "vpn"
)

// RouterLabel is the host label that says which router an existing
// OpenWrt host is (router: outer or router: vpn).
const RouterLabel = "router"

// Default names of seed 000's machines.
const (
	OuterRouterName = "outer-openwrt"
	VPNRouterName   = "vpn-openwrt"
	VPNServerName   = "vpn-softether"
)

// node is a machine of the site with an address: a site host or a VM.
type node struct {
	Name    string
	Addr    netip.Addr // on the LAN when known
	Prefix  netip.Prefix
	Role    string
	Kind    string // VM kind; "" for a site host
	Bridges []string
	Labels  map[string]string
	VM      bool
}

// nodes lists the VMs and the site hosts, VMs first.
func nodes(s *site.Site) []node {
	var out []node
	if s.Proxmox != nil {
		for _, vm := range s.Proxmox.VMs {
			n := node{Name: vm.Name, Role: vm.Role, Kind: vm.Kind, Bridges: vm.Bridges, Labels: vm.Labels, VM: true}
			if p, err := netip.ParsePrefix(vm.Address); err == nil {
				n.Addr, n.Prefix = p.Addr(), p
			}
			out = append(out, n)
		}
	}
	for _, h := range s.Hosts {
		n := node{Name: h.Name, Role: h.Role, Labels: h.Labels}
		if a, err := netip.ParseAddr(h.Address); err == nil {
			n.Addr = a
		}
		out = append(out, n)
	}
	return out
}

func findNode(s *site.Site, name string) (node, bool) {
	for _, n := range nodes(s) {
		if n.Name == name {
			return n, true
		}
	}
	return node{}, false
}

// RouterKind says whether the router called name is the outer router or
// the VPN router: from its label router: outer|vpn, else from the VM's
// bridges (on the VPN bridge: vpn), else from its name.
func RouterKind(s *site.Site, name string) string {
	n, _ := findNode(s, name)
	switch n.Labels[RouterLabel] {
	case RouterOuter, RouterVPN:
		return n.Labels[RouterLabel]
	}
	if n.VM && s.Network != nil && s.Network.VPNBridge != "" {
		for _, b := range n.Bridges {
			if b == s.Network.VPNBridge {
				return RouterVPN
			}
		}
		if len(n.Bridges) > 0 {
			return RouterOuter
		}
	}
	if strings.Contains(name, "vpn") {
		return RouterVPN
	}
	return RouterOuter
}

// lan returns the site's LAN and gateway.
func lan(s *site.Site) (netip.Prefix, netip.Addr, error) {
	n := s.Network
	if n == nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("the site file has no network section")
	}
	p, err := netip.ParsePrefix(n.LAN)
	if err != nil {
		return p, netip.Addr{}, fmt.Errorf("network.lan %q: %w", n.LAN, err)
	}
	gw, err := netip.ParseAddr(n.Gateway)
	if err != nil {
		return p, gw, fmt.Errorf("network.gateway %q: %w", n.Gateway, err)
	}
	return p.Masked(), gw, nil
}

func vpnNet(s *site.Site) (netip.Prefix, error) {
	if s.Network == nil {
		return netip.Prefix{}, fmt.Errorf("the site file has no network section")
	}
	p, err := netip.ParsePrefix(s.Network.VPN)
	if err != nil {
		return p, fmt.Errorf("network.vpn %q: %w", s.Network.VPN, err)
	}
	return p.Masked(), nil
}

// nth returns the n-th address of a prefix (1 = first host).
func nth(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	for ; n > 0; n-- {
		a = a.Next()
	}
	return a
}

// netmask returns the dotted netmask of an IPv4 prefix.
func netmask(p netip.Prefix) string {
	bits := p.Bits()
	var m [4]byte
	for i := 0; i < 4; i++ {
		switch {
		case bits >= 8:
			m[i] = 0xff
			bits -= 8
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
			bits = 0
		}
	}
	return netip.AddrFrom4(m).String()
}

// roleAddr is the LAN address of the first machine with the role.
func roleAddr(s *site.Site, role string) (string, netip.Addr) {
	for _, n := range nodes(s) {
		if n.Role == role && n.Addr.IsValid() {
			return n.Name, n.Addr
		}
	}
	return "", netip.Addr{}
}

// EdgeAddress is where the app subdomains point inside: the LAN address
// of the swarm manager (the edge proxy publishes 80/443 there).
func EdgeAddress(s *site.Site) (netip.Addr, error) {
	if _, a := roleAddr(s, site.RoleManager); a.IsValid() {
		return a, nil
	}
	return netip.Addr{}, fmt.Errorf("no swarm manager with an address on the LAN: give the manager VM an address (proxmox.vms[].address)")
}

// VPNServerAddress is the LAN address of the SoftEther host.
func VPNServerAddress(s *site.Site) (string, netip.Addr) { return roleAddr(s, site.RoleVPN) }

// routerAddr is the LAN address of a router: its VM or host address;
// the outer router defaults to the gateway and the VPN router to .2.
func routerAddr(s *site.Site, name, kind string) (netip.Addr, error) {
	p, gw, err := lan(s)
	if err != nil {
		return netip.Addr{}, err
	}
	if n, ok := findNode(s, name); ok && n.Addr.IsValid() && p.Contains(n.Addr) {
		return n.Addr, nil
	}
	if kind == RouterOuter {
		return gw, nil
	}
	return nth(p, 2), nil
}

// VMMAC is the MAC address collabstack gives the LAN NIC of a VM, so
// the outer router's static DHCP lease matches before the VM ever booted:
// Proxmox's prefix BC:24:11 and three bytes of a hash of site and VM name.
func VMMAC(s *site.Site, vm string) string {
	sum := sha256.Sum256([]byte(s.Name + "\x00" + vm))
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", sum[0], sum[1], sum[2])
}

// uciName turns a machine name into a UCI section name part.
func uciName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
