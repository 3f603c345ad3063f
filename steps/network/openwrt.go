package network

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sitemodel"
	"github.com/collabstack/collabstack/templates"
)

// UCIConfigs are the UCI configs collabstack manages on a router.
var UCIConfigs = []string{"network", "dhcp", "firewall"}

// Port is one forwarded port.
type Port struct {
	Proto string // tcp or udp
	Port  int
}

// RouterOptions tune RouterSteps beyond the site file.
type RouterOptions struct {
	// Kind is RouterOuter or RouterVPN; "" asks RouterKind.
	Kind string
	// LocalDomain is the DHCP clients' domain (default lan).
	LocalDomain string
	// DHCPStart and DHCPLimit are the dynamic range: offset from the
	// network address and pool size (default 100 and 100).
	DHCPStart, DHCPLimit int
	// LeaseTime of dynamic leases (default 12h).
	LeaseTime string
	// RevertAfter is how long the router waits for collabstack to come
	// back after a change before restoring its previous settings
	// (default 120 s).
	RevertAfter time.Duration
	// SmartDNS is the smartdns resolver the outer router forwards to
	// first ("10.10.0.3#6053"); "" forwards to the site's upstreams only.
	SmartDNS string
	// WANAddress is the outer router's static WAN address (CIDR) and
	// WANGateway its gateway; "" keeps DHCP on the WAN.
	WANAddress, WANGateway string
	// ManageFrom limits SSH from the router's upstream side to a subnet
	// ("192.168.1.0/24"); "" allows it from anywhere on that side.
	ManageFrom string
	// VPNPorts are forwarded to the VPN server (default: SoftEtherPorts).
	VPNPorts []Port
	// DropbearHostKey is the router's ed25519 host key in dropbear's
	// format (sshkey.Dropbear), which the first-boot script writes before
	// dropbear starts, so collabstack knows the key before it first
	// connects; nil leaves dropbear to make its own keys.
	DropbearHostKey []byte
}

func (o RouterOptions) withDefaults(s *site.Site, name string) RouterOptions {
	if o.Kind == "" {
		o.Kind = RouterKind(s, name)
	}
	if o.LocalDomain == "" {
		o.LocalDomain = DefaultLocalDomain
	}
	if o.DHCPStart == 0 {
		o.DHCPStart = 100
	}
	if o.DHCPLimit == 0 {
		o.DHCPLimit = 100
	}
	if o.LeaseTime == "" {
		o.LeaseTime = "12h"
	}
	if o.RevertAfter == 0 {
		o.RevertAfter = 120 * time.Second
	}
	if o.VPNPorts == nil {
		o.VPNPorts = SoftEtherPorts(SoftEtherOptions{})
	}
	return o
}

// redirect is a firewall port forward; End ends a range.
type redirect struct {
	Section, Name, Proto, DestIP string
	Port, End                    int
}

// iface is one side of a router.
type iface struct {
	Proto, Addr, Mask, Gateway string
	DNS                        []string
}

// routerData is what the UCI templates get.
type routerData struct {
	Name, Kind string
	LAN        iface
	WAN        iface
	DHCPStart  int
	DHCPLimit  int
	LeaseTime  string
	Split      Split
	// Servers are dnsmasq's upstream servers.
	Servers []string
	// Addresses are dnsmasq address= entries (/name/ip).
	Addresses []string
	// Domains are exact-name records (apex domain, mail host).
	Domains []HostRecord
	// Hosts are static DHCP leases.
	Hosts     []HostRecord
	Rebind    []string
	Redirects []redirect
	Masq      bool
	// DNSMasq, LANZone and WANZone are the live sections to change
	// (@dnsmasq[0], @zone[1]) or names to create.
	DNSMasq, LANZone, WANZone string
	NewDNSMasq                bool
	NewLANZone, NewWANZone    bool
	ManageFrom                string
	// Stale are collabstack's sections no longer wanted (dhcp.cs_host_x).
	Stale []string
}

// routerModel computes the desired router settings; live (the router's
// `uci show`) gives the sections to change, or nil for a fresh OpenWrt.
func routerModel(s *site.Site, name string, o RouterOptions, live *UCIState) (routerData, error) {
	o = o.withDefaults(s, name)
	p, gw, err := lan(s)
	if err != nil {
		return routerData{}, err
	}
	addr, err := routerAddr(s, name, o.Kind)
	if err != nil {
		return routerData{}, err
	}
	d := routerData{Name: name, Kind: o.Kind, DHCPStart: o.DHCPStart, DHCPLimit: o.DHCPLimit, LeaseTime: o.LeaseTime, ManageFrom: o.ManageFrom}
	var upstreams []string
	switch o.Kind {
	case RouterOuter:
		d.LAN = iface{Proto: "static", Addr: addr.String(), Mask: netmask(p)}
		d.WAN = iface{Proto: "dhcp"}
		if o.WANAddress != "" {
			wp, err := netip.ParsePrefix(o.WANAddress)
			if err != nil {
				return d, fmt.Errorf("WAN address %q: %w", o.WANAddress, err)
			}
			d.WAN = iface{Proto: "static", Addr: wp.Addr().String(), Mask: netmask(wp), Gateway: o.WANGateway}
		}
		if o.SmartDNS != "" {
			upstreams = append(upstreams, o.SmartDNS)
		}
		upstreams = append(upstreams, s.Network.Upstreams...)
	case RouterVPN:
		vp, err := vpnNet(s)
		if err != nil {
			return d, err
		}
		d.LAN = iface{Proto: "static", Addr: nth(vp, 1).String(), Mask: netmask(vp)}
		d.WAN = iface{Proto: "static", Addr: addr.String(), Mask: netmask(p), Gateway: gw.String(), DNS: []string{gw.String()}}
		d.Masq = true
		// The outer router knows the LAN's names and the outside.
		upstreams = []string{gw.String()}
	default:
		return d, fmt.Errorf("router kind %q: use %s or %s", o.Kind, RouterOuter, RouterVPN)
	}
	sp, err := SplitOf(s, o.LocalDomain, upstreams...)
	if err != nil {
		return d, err
	}
	d.Split = sp
	d.Servers = sp.Upstreams
	if o.Kind == RouterVPN {
		d.Servers = append([]string{"/" + sp.LocalDomain + "/" + gw.String()}, d.Servers...)
	}
	for _, a := range sp.Apps {
		d.Addresses = append(d.Addresses, "/"+a+"/"+sp.Edge)
	}
	d.Domains = append(d.Domains, HostRecord{Section: "cs_dom_apex", Name: sp.Domain, IP: sp.Edge})
	if sp.Mail != "" {
		d.Domains = append(d.Domains, HostRecord{Section: "cs_dom_mail", Name: sp.Mail, IP: sp.Edge})
	}
	d.Rebind = []string{sp.Domain, sp.LocalDomain}
	if o.Kind == RouterOuter {
		for _, h := range sp.Hosts {
			if h.MAC == "" || h.Name == name || isOpenWrtVM(s, h.Name) {
				continue
			}
			d.Hosts = append(d.Hosts, h)
		}
		for _, port := range []int{80, 443} {
			d.Redirects = append(d.Redirects, redirect{Section: fmt.Sprintf("cs_fwd_tcp%d", port), Name: fmt.Sprintf("collabstack-web-%d", port), Proto: "tcp", Port: port, DestIP: sp.Edge})
		}
		// The apps' public ports that are not the web: every one reaches
		// its app at the edge's node (published there, or through the
		// edge's stream proxy).
		m, err := sitemodel.Of(s)
		if err != nil {
			return d, err
		}
		for _, p := range m.Ports {
			if !p.Public {
				continue
			}
			d.Redirects = append(d.Redirects, redirect{Section: fmt.Sprintf("cs_app_%s_%s%d", p.App, p.Protocol, p.Port.Port), Name: fmt.Sprintf("collabstack-%s-%s%d", p.App, p.Protocol, p.Port.Port),
				Proto: p.Protocol, Port: p.Port.Port, End: p.Range, DestIP: sp.Edge})
		}
		if vpnName, vpnAddr := VPNServerAddress(s); vpnAddr.IsValid() {
			for _, vp := range o.VPNPorts {
				d.Redirects = append(d.Redirects, redirect{Section: fmt.Sprintf("cs_fwd_%s%d", vp.Proto, vp.Port), Name: fmt.Sprintf("collabstack-%s-%s%d", vpnName, vp.Proto, vp.Port), Proto: vp.Proto, Port: vp.Port, DestIP: vpnAddr.String()})
			}
		}
	}
	if live == nil {
		live, err = DefaultOpenWrt()
		if err != nil {
			return d, err
		}
	}
	d.DNSMasq, d.NewDNSMasq = "cs_dnsmasq", true
	if secs := live.Sections("dhcp"); len(secs) > 0 {
		for _, sec := range secs {
			if sec[1] == "dnsmasq" {
				d.DNSMasq, d.NewDNSMasq = sec[0], false
				break
			}
		}
	}
	d.LANZone, d.NewLANZone = zoneRef(live, "lan")
	d.WANZone, d.NewWANZone = zoneRef(live, "wan")
	d.Stale = staleSections(live, d)
	return d, nil
}

func isOpenWrtVM(s *site.Site, name string) bool {
	n, ok := findNode(s, name)
	return ok && n.Kind == site.VMOpenWrt
}

// zoneRef finds the firewall zone called name; when there is none it
// returns the name of the section collabstack creates.
func zoneRef(live *UCIState, name string) (string, bool) {
	for _, sec := range live.Sections("firewall") {
		if sec[1] != "zone" {
			continue
		}
		if v, ok := live.Get("firewall", sec[0], "name"); ok && len(v) == 1 && v[0] == name {
			return sec[0], false
		}
	}
	return "cs_zone_" + name, true
}

// staleSections lists collabstack's sections (cs_*) in the live state
// that the desired state no longer has.
func staleSections(live *UCIState, d routerData) []string {
	want := map[string]bool{"dhcp.cs_dnsmasq": true, "firewall.cs_zone_lan": true, "firewall.cs_zone_wan": true,
		"firewall.cs_ssh_wan": true, "firewall.cs_vpn_nat": true}
	for _, h := range d.Hosts {
		want["dhcp."+h.Section] = true
	}
	for _, h := range d.Domains {
		want["dhcp."+h.Section] = true
	}
	for _, r := range d.Redirects {
		want["firewall."+r.Section] = true
	}
	if !d.Masq {
		delete(want, "firewall.cs_vpn_nat")
	}
	var out []string
	for _, cfg := range UCIConfigs {
		for _, sec := range live.Sections(cfg) {
			if strings.HasPrefix(sec[0], "cs_") && !want[cfg+"."+sec[0]] {
				out = append(out, cfg+"."+sec[0])
			}
		}
	}
	return out
}

// RenderUCI renders the router's UCI batch against its live state (the
// output of `uci show` for network, dhcp and firewall), or against a
// fresh OpenWrt when live is nil.
func RenderUCI(s *site.Site, name string, o RouterOptions, live *UCIState) ([]byte, error) {
	d, err := routerModel(s, name, o, live)
	if err != nil {
		return nil, err
	}
	out, err := render("openwrt/batch.uci.tmpl", d, "openwrt/network.uci.tmpl", "openwrt/dhcp.uci.tmpl", "openwrt/firewall.uci.tmpl")
	if err != nil {
		return nil, err
	}
	if _, err := ParseUCIBatch(string(out)); err != nil {
		return nil, fmt.Errorf("the rendered UCI batch for %s does not parse (a bug in collabstack): %w", name, err)
	}
	return out, nil
}

// DefaultOpenWrt is a fresh OpenWrt x86 VM's network, dhcp and firewall
// config (templates/network/openwrt/default.uci, as `uci show` prints it).
func DefaultOpenWrt() (*UCIState, error) {
	data, err := templates.FS.ReadFile("network/openwrt/default.uci")
	if err != nil {
		return nil, err
	}
	return ParseUCIShow(string(data))
}
