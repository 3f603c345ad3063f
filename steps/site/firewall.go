package site

import (
	"fmt"
	"net/netip"
)

// Firewall tunes the host firewall (nftables) collabstack puts on every
// prepared host: inbound traffic is dropped unless a rule lets it in.
type Firewall struct {
	// AdminNetworks may reach SSH, Portainer, the registry and the other
	// admin consoles: addresses or CIDR networks. Default: the address
	// collabstack connects from plus the hosts' own LAN.
	AdminNetworks []string `yaml:"admin_networks,omitempty"`
	// Off leaves the hosts' firewall as it is (for hosts whose firewall
	// someone else manages).
	Off bool `yaml:"off,omitempty"`
}

// ParseNetwork reads an admin network: an address (one host) or a CIDR
// network, returned as a prefix with its host bits cleared.
func ParseNetwork(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is neither an address nor a CIDR network", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (s *Site) validateFirewall(es *Errors) {
	for i, n := range s.Firewall.AdminNetworks {
		if _, err := ParseNetwork(n); err != nil {
			es.add(fmt.Sprintf("firewall.admin_networks[%d]", i), "give an address (203.0.113.7) or a CIDR network (192.168.1.0/24)", "%v", err)
		}
	}
}
