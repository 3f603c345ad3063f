package network

import (
	"fmt"
	"net/netip"

	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sitemodel"
)

// Split is the split-horizon view of the site: inside (LAN and VPN
// clients) the domain and every app subdomain resolve to the edge's LAN
// address; everything else goes to the upstream resolvers.
type Split struct {
	Domain string
	Edge   string
	// Apps are the app names (cloud.example.org), each also covering
	// its own subdomains.
	Apps []string
	// Mail is the mail host name when mail is on.
	Mail string
	// LocalDomain is the DHCP clients' domain (lan).
	LocalDomain string
	// Hosts are the machines with fixed LAN addresses (VMs, hosts).
	Hosts []HostRecord
	// Upstreams are the resolvers for outside names ("9.9.9.9",
	// "10.10.0.3#6053").
	Upstreams []string
}

// HostRecord is a machine's name and LAN address; MAC is set for VMs.
type HostRecord struct {
	Section string // UCI section name (cs_host_swarm_manager)
	Name    string
	IP      string
	MAC     string
}

// SplitOf builds the split-horizon view of a site; upstreams replaces
// the site's dns_upstreams when given.
func SplitOf(s *site.Site, localDomain string, upstreams ...string) (Split, error) {
	edge, err := EdgeAddress(s)
	if err != nil {
		return Split{}, err
	}
	if localDomain == "" {
		localDomain = DefaultLocalDomain
	}
	m, err := sitemodel.Of(s)
	if err != nil {
		return Split{}, err
	}
	sp := Split{Domain: s.Domain, Edge: edge.String(), LocalDomain: localDomain, Apps: m.WebHosts(), Mail: m.Mail}
	if len(upstreams) > 0 {
		sp.Upstreams = upstreams
	} else if s.Network != nil {
		sp.Upstreams = append(sp.Upstreams, s.Network.Upstreams...)
	}
	p, _, _ := lan(s)
	for _, n := range nodes(s) {
		if !n.Addr.IsValid() || (p.IsValid() && !p.Contains(n.Addr)) {
			continue
		}
		h := HostRecord{Section: "cs_host_" + uciName(n.Name), Name: n.Name, IP: n.Addr.String()}
		if n.VM {
			h.MAC = VMMAC(s, n.Name)
		}
		sp.Hosts = append(sp.Hosts, h)
	}
	for _, u := range sp.Upstreams {
		if _, err := netip.ParseAddrPort(u); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(stripPort(u)); err != nil {
			return sp, fmt.Errorf("DNS upstream %q is not an IP address", u)
		}
	}
	return sp, nil
}

// stripPort drops dnsmasq's #port suffix.
func stripPort(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' {
			return s[:i]
		}
	}
	return s
}

// DefaultLocalDomain is the domain of the LAN's DHCP clients.
const DefaultLocalDomain = "lan"
