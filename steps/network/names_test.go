package network

import (
	"context"
	"net"
	"regexp"
	"slices"
	"testing"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/site"
)

var serverNameRE = regexp.MustCompile(`(?m)^\s*server_name\s+([^;]+);`)

// TestLANNamesAreEdgeNames checks, for every app of the catalog alone and
// for all of them at once, that the names the LAN DNS publishes and
// `dns check` asks for are exactly the server_names the edge serves: a
// name published but not served, or served but not resolvable inside,
// is an app nobody reaches.
func TestLANNamesAreEdgeNames(t *testing.T) {
	c, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, a := range c.Apps() {
		if a.Kind == apps.KindEdge {
			continue
		}
		all = append(all, a.Name)
		t.Run(a.Name, func(t *testing.T) { checkNames(t, c, a.Name) })
	}
	t.Run("all", func(t *testing.T) { checkNames(t, c, all...) })
}

func checkNames(t *testing.T, c *apps.Catalog, chosen ...string) {
	s := testSite(t)
	s.Components = map[string]site.Component{}
	for _, n := range chosen {
		s.Components[n] = site.Component{}
	}
	sp, err := SplitOf(s, "")
	if err != nil {
		t.Fatal(err)
	}
	selected, err := c.Selected(s)
	if err != nil {
		t.Fatal(err)
	}
	vhosts, err := c.Vhosts(apps.InputFor(s, selected, func(string) (string, error) { return "x", nil }))
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, v := range vhosts {
		for _, m := range serverNameRE.FindAllStringSubmatch(string(v.Conf), -1) {
			served = append(served, m[1])
		}
	}
	slices.Sort(served)
	served = slices.Compact(served)
	if !slices.Equal(sp.Apps, served) {
		t.Errorf("the LAN DNS publishes %v, the edge serves %v", sp.Apps, served)
	}
	for _, name := range served {
		if !slices.Contains(publicNames(t, s), name) {
			t.Errorf("dns check does not ask for %s, which the edge serves", name)
		}
	}
}

// publicNames are the names `dns check` looks up.
func publicNames(t *testing.T, s *site.Site) []string {
	recs, err := DNSCheck(t.Context(), s, nxResolver{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Name)
	}
	return out
}

// nxResolver answers "no such name" to everything, as a DNS zone with no
// records yet would.
type nxResolver struct{}

func (nxResolver) LookupIP(_ context.Context, _, host string) ([]net.IP, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func (nxResolver) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}
