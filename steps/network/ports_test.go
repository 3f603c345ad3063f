package network

import (
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/site"
)

// The outer router forwards every chosen app's public port that is not
// the web to the edge's node, where the site's names point, ranges as
// ranges; a LAN-only port (RADIUS) is not forwarded, nor anything on the
// VPN router. A removed app's forward goes on the next run.
func TestOuterRouterForwardsTheAppsPublicPorts(t *testing.T) {
	s := testSite(t)
	s.Components = map[string]site.Component{"coturn": {}, "forgejo": {}, "freeradius": {}}
	batch, err := RenderUCI(s, OuterRouterName, RouterOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	edge, _ := EdgeAddress(s)
	text := string(batch)
	for _, want := range []string{
		"set firewall.cs_app_coturn_udp49160.src_dport='49160-49259'",
		"set firewall.cs_app_coturn_udp49160.dest_port='49160-49259'",
		"set firewall.cs_app_coturn_udp49160.dest_ip='" + edge.String() + "'",
		"set firewall.cs_app_coturn_tcp3478.proto='tcp'",
		"set firewall.cs_app_coturn_udp3478.proto='udp'",
		"set firewall.cs_app_forgejo_tcp2223.dest_port='2223'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("batch lacks %q", want)
		}
	}
	if strings.Contains(text, "1812") {
		t.Error("RADIUS (LAN only) is forwarded from the internet")
	}
	vpn, err := RenderUCI(s, VPNRouterName, RouterOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(vpn), "cs_app_") {
		t.Error("the VPN router forwards app ports")
	}
	// Applied, then the app removed: its forwards are stale and go.
	live, _ := DefaultOpenWrt()
	cmds, _ := ParseUCIBatch(text)
	if err := live.Apply(cmds); err != nil {
		t.Fatal(err)
	}
	s.Components = map[string]site.Component{"forgejo": {}}
	again, err := RenderUCI(s, OuterRouterName, RouterOptions{}, live)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(again), "delete firewall.cs_app_coturn_udp49160") || strings.Contains(string(again), "delete firewall.cs_app_forgejo") {
		t.Errorf("stale forwards:\n%s", again)
	}
}

// `dns check` lists every app port with the name it is reached at and
// whether the outer router forwards it.
func TestPortLines(t *testing.T) {
	s := testSite(t)
	s.Components = map[string]site.Component{"forgejo": {}, "freeradius": {}, "james": {}}
	lines, err := PortLines(s)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(lines, "\n")
	edge, _ := EdgeAddress(s)
	for _, want := range []string{
		"2223/tcp         git.collab.example.org           Forgejo: Git over SSH (public, through the edge's stream proxy); the outer router forwards it to " + edge.String(),
		"25/tcp           mail.collab.example.org", "1812/udp         collab.example.org", "(LAN, VPN and admin networks only, published on the edge's node); LAN only: not forwarded",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in\n%s", want, text)
		}
	}
}
