package pki

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/collabstack/collabstack/steps/site"
)

// labRanges are the private IPv4 ranges (RFC 1918), where Docker puts a lab
// network whose subnet the site file does not fix.
var labRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
}

// ScopeOf is what the site's CA may sign for: the site's domain; the
// site's own networks (the Proxmox topologies' LAN and VPN, the lab's
// subnet, or the private ranges Docker picks a lab's from when it is not
// fixed); and each host of the site file by its address (an IP address as
// itself alone, a DNS name as that name), since the registry's certificate
// names the manager as the nodes reach it.
func ScopeOf(s *site.Site) Scope {
	sc := Scope{Domains: []string{strings.ToLower(strings.TrimSuffix(s.Domain, "."))}}
	addRange := func(p netip.Prefix) {
		p = p.Masked()
		if !slices.Contains(sc.Ranges, p) {
			sc.Ranges = append(sc.Ranges, p)
		}
	}
	if s.Network != nil {
		for _, n := range []string{s.Network.LAN, s.Network.VPN, s.Network.PublicIPv4} {
			if p, err := site.ParseNetwork(n); err == nil {
				addRange(p)
			}
		}
	}
	if s.Topology == site.TopologyLab {
		if s.Lab != nil && s.Lab.Subnet != "" {
			if p, err := netip.ParsePrefix(s.Lab.Subnet); err == nil {
				addRange(p)
			}
		} else {
			for _, p := range labRanges {
				addRange(p)
			}
		}
	}
	for _, h := range s.Hosts {
		a := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSuffix(h.Address, "]"), "["), ".")
		if a == "" {
			continue
		}
		if p, err := site.ParseNetwork(a); err == nil {
			if !sc.Covers(p.Addr().String()) {
				addRange(p)
			}
			continue
		}
		if !sc.Covers(a) {
			sc.Domains = append(sc.Domains, strings.ToLower(a))
		}
	}
	return sc
}
