package firewall

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

func sample() Rules {
	p := netip.MustParsePrefix
	return Rules{
		Host: "manager", SSHPort: 22,
		Admin:   []netip.Prefix{p("203.0.113.7/32"), p("2001:db8::/32"), p("203.0.113.7/32")},
		Trusted: []netip.Prefix{p("192.168.1.0/24"), p("192.168.1.5/32")},
		Swarm:   []netip.Prefix{p("192.168.1.10/32"), p("192.168.1.11/32")},
		Public: []Port{{From: 80}, {From: 443}, {From: 443}, {From: 3478, UDP: true}, {From: 3478},
			{From: 49160, To: 49259, UDP: true}, {From: 49200, UDP: true}},
		LAN:      []Port{{From: 1812, UDP: true}, {From: 1813, UDP: true}},
		AdminTCP: AdminPorts,
	}
}

// The rendered rules are what nft itself accepts (nft -c parses and
// checks them against the kernel without loading them); the sets hold
// each network once.
func TestRulesRenderAndNftAcceptsThem(t *testing.T) {
	out, err := sample().Render()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{
		"elements = { 203.0.113.7/32 }", "elements = { 192.168.1.0/24, 203.0.113.7/32 }",
		"tcp dport { 80, 443, 3478 } accept", "udp dport { 3478, 49160-49259 } accept",
		"ip saddr @trusted4 tcp dport { 5000, 9443 } accept", "ip saddr @admin4 tcp dport 22 accept",
		"ct original proto-dst { 80, 443, 3478 }",
		"ip saddr @trusted4 udp dport { 1812, 1813 } accept", "ip saddr @trusted4 meta l4proto 17 ct original proto-dst { 1812, 1813 } accept",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rules lack %q:\n%s", want, text)
		}
	}
	nft, err := exec.LookPath("nft")
	if err != nil {
		t.Fatal("nft is not installed (apt-get install nftables; scripts/test installs it)")
	}
	f := filepath.Join(t.TempDir(), "rules.nft")
	if err := os.WriteFile(f, out, 0o600); err != nil {
		t.Fatal(err)
	}
	if o, err := exec.Command(nft, "-c", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("nft -c refuses the rules: %v\n%s\n%s", err, o, text)
	}
}

func TestRulesRefuseNoAdminNetwork(t *testing.T) {
	r := sample()
	r.Admin = nil
	if _, err := r.Render(); err == nil {
		t.Fatal("rules without an admin network would lock SSH out, and rendered")
	}
}

func TestFactsAndPublicPorts(t *testing.T) {
	f := ParseFacts("client=192.168.1.50\nnet=192.168.1.10/24\nnet=203.0.113.9/24\nnet=fd00:1::5/64\nmember=192.168.1.11\nmember=::ffff:192.168.1.12\njunk\n")
	if f.Client != netip.MustParseAddr("192.168.1.50") || len(f.Members) != 2 || f.Members[1].String() != "192.168.1.12/32" {
		t.Fatalf("facts %+v", f)
	}
	if got := f.Private(); len(got) != 2 || got[0].String() != "192.168.1.0/24" || got[1].String() != "fd00:1::/64" {
		t.Errorf("private networks %v: a hoster's public subnet must not count as the LAN", got)
	}
	s := &site.Site{Components: map[string]site.Component{"coturn": {}, "edge": {Options: map[string]any{"https_port": 8443}}}}
	ports, err := PublicPorts(s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range compactPorts(ports) {
		proto := "tcp"
		if p.UDP {
			proto = "udp"
		}
		got = append(got, p.String()+"/"+proto)
	}
	if strings.Join(got, " ") != "80/tcp 443/tcp 3478/tcp 8443/tcp 3478/udp 49160-49259/udp" {
		t.Errorf("public ports %v", got)
	}
	// Ports through the edge's stream proxy are public like the app's
	// own; RADIUS is for the LAN only.
	s.Components = map[string]site.Component{"forgejo": {}, "freeradius": {}}
	public, lan, err := AppPorts(s)
	if err != nil {
		t.Fatal(err)
	}
	if str := func(ps []Port) string {
		var out []string
		for _, p := range compactPorts(ps) {
			out = append(out, p.String())
		}
		return strings.Join(out, " ")
	}; str(public) != "80 443 2223" || str(lan) != "1812 1813" {
		t.Errorf("public %v, LAN %v", public, lan)
	}
}

// The scripts the step runs pass shellcheck as rendered.
func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is not installed (scripts/test installs it)")
	}
	data := map[string]map[string]any{
		"firewall.sh": {"StateDir": StateDir, "RevertPath": revertPath, "Hash": "abc", "RevertSeconds": 90},
		"facts.sh":    {"Members": []string{"node-1.example.org"}},
	}
	for _, name := range Scripts() {
		text, err := script.Render(Dir+name, data[name])
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("shellcheck", "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
	cmd := exec.Command("shellcheck", "-s", "sh", filepath.Join("..", "..", "templates", Dir, "fwrevert.sh"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck fwrevert.sh: %v\n%s", err, out)
	}
}
