package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sitemodel"
)

// Resolver is what DNSCheck asks; *net.Resolver is one. Tests point a
// net.Resolver at a dnsmasq on loopback (ResolverAt).
type Resolver interface {
	LookupIP(ctx context.Context, network, host string) ([]net.IP, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
}

// ResolverAt is a resolver that sends every query to addr ("127.0.0.1:5353").
func ResolverAt(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// Record states.
const (
	RecordOK      = "ok"
	RecordMissing = "missing"
	RecordWrong   = "wrong"
	// RecordExtra: a record that should not exist (an AAAA record when
	// the site has no public IPv6 address).
	RecordExtra = "extra"
	// RecordUnknown: the wanted value is not known (no public_ipv4).
	RecordUnknown = "unknown"
)

// Record is one public DNS record the user must create at their DNS
// provider, and what the resolver answers now.
type Record struct {
	Name   string
	Type   string   // A, AAAA, MX
	Want   []string // the value(s) to create; empty for RecordExtra
	Got    []string
	Status string
	// Fix says what to do at the DNS provider; "" when Status is ok.
	Fix string
}

func (r Record) String() string {
	want := strings.Join(r.Want, ", ")
	if want == "" {
		want = "(none)"
	}
	return fmt.Sprintf("%-5s %-40s want %-20s got %-20s %s", r.Type, r.Name, want, strings.Join(r.Got, ", "), r.Status)
}

// DNSCheck lists the public records the site needs: A for the domain
// and every app subdomain (the public IPv4 address), no AAAA (the site
// has no public IPv6), and MX with the mail host's A record when mail is
// on; and says for each whether the resolver gives the right answer.
// Only a failed lookup other than "no such name" is an error.
func DNSCheck(ctx context.Context, s *site.Site, r Resolver) ([]Record, error) {
	public := ""
	if s.Network != nil {
		public = s.Network.PublicIPv4
	}
	m, err := sitemodel.Of(s)
	if err != nil {
		return nil, err
	}
	names, mail := m.PublicNames(), m.Mail
	var out []Record
	for _, name := range names {
		v4, err := lookup(ctx, r, "ip4", name)
		if err != nil {
			return out, err
		}
		rec := Record{Name: name, Type: "A", Got: v4}
		if public != "" {
			rec.Want = []string{public}
		}
		rec.Status, rec.Fix = judge(rec, "create an A record "+name+" -> "+public)
		out = append(out, rec)
		v6, err := lookup(ctx, r, "ip6", name)
		if err != nil {
			return out, err
		}
		if len(v6) > 0 {
			out = append(out, Record{Name: name, Type: "AAAA", Got: v6, Status: RecordExtra,
				Fix: "delete the AAAA record of " + name + ": the site answers on IPv4 only, and clients that try IPv6 first would not reach it"})
		}
	}
	if mail != "" {
		mx, err := r.LookupMX(ctx, s.Domain)
		if err != nil && !notFound(err) {
			return out, fmt.Errorf("look up the MX record of %s: %w", s.Domain, err)
		}
		rec := Record{Name: s.Domain, Type: "MX", Want: []string{mail + "."}}
		for _, m := range mx {
			rec.Got = append(rec.Got, m.Host)
		}
		rec.Status, rec.Fix = judge(rec, "create an MX record for "+s.Domain+" -> "+mail+" (priority 10)")
		out = append(out, rec)
	}
	return out, nil
}

func judge(r Record, fix string) (string, string) {
	switch {
	case len(r.Want) == 0:
		return RecordUnknown, "set network.public_ipv4 in the site file to the address your ISP gave you, then " + strings.Replace(fix, " -> ", " -> that address", 1)
	case len(r.Got) == 0:
		return RecordMissing, fix
	}
	got := append([]string(nil), r.Got...)
	sort.Strings(got)
	if strings.Join(got, ",") == strings.Join(r.Want, ",") {
		return RecordOK, ""
	}
	return RecordWrong, "change the record: " + fix + " (it gives " + strings.Join(r.Got, ", ") + ")"
}

func lookup(ctx context.Context, r Resolver, network, name string) ([]string, error) {
	ips, err := r.LookupIP(ctx, network, name)
	if err != nil {
		if notFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("look up %s (%s): %w", name, network, err)
	}
	var out []string
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap().String())
		}
	}
	sort.Strings(out)
	return out, nil
}

func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// PortLines lists the chosen apps' ports that are not the web, for `dns
// check`: each at the name clients use (it points where the records
// above say), public or LAN-only, and whether the outer router forwards
// it (single and full topologies: to the edge's node) or the user's own
// router must.
func PortLines(s *site.Site) ([]string, error) {
	m, err := sitemodel.Of(s)
	if err != nil {
		return nil, err
	}
	to := ""
	if s.Topology == site.TopologySingle || s.Topology == site.TopologyFull {
		if a, err := EdgeAddress(s); err == nil {
			to = a.String()
		}
	}
	var out []string
	for _, p := range m.Ports {
		fwd := "LAN only: not forwarded"
		switch {
		case p.Public && to != "":
			fwd = "the outer router forwards it to " + to
		case p.Public:
			fwd = "forward it at your router to the swarm manager"
		}
		out = append(out, fmt.Sprintf("%-16s %-32s %s: %s (%s); %s", p.Numbers(), p.Host, p.Title, p.Use, p.Reach(), fwd))
	}
	return out, nil
}
