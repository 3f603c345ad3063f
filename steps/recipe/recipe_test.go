package recipe

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/examples"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/site"
)

func load(t *testing.T, topo string) *site.Site {
	t.Helper()
	data, _ := examples.Site(topo)
	s, err := site.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults()
	if err := s.Validate(nil); err != nil {
		t.Fatal(err)
	}
	s.ResolveStateDir(filepath.Join(t.TempDir(), "site.yaml"))
	return s
}

func TestEveryExampleBuildsAValidPlan(t *testing.T) {
	for _, topo := range site.Topologies {
		p, err := Build(load(t, topo))
		if err != nil {
			t.Fatalf("%s: %v", topo, err)
		}
		if p.Len() == 0 {
			t.Errorf("%s: empty plan", topo)
		}
	}
}

func TestLabPlanReachesNodesAfterTheyBoot(t *testing.T) {
	p, err := Build(load(t, "lab"))
	if err != nil {
		t.Fatal(err)
	}
	order := strings.Join(p.Order(), " ")
	for _, id := range []string{"lab/image", "lab/ready/lab-1", ReachID("lab-1"), ReachID("lab-2"), prepare.ID("docker", "lab-2")} {
		if !strings.Contains(order, id) {
			t.Errorf("the lab plan lacks %s:\n%s", id, order)
		}
	}
	if strings.Index(order, "lab/ready/lab-1") > strings.Index(order, ReachID("lab-1")) {
		t.Errorf("lab-1 is reached before it is ready")
	}
}

func TestPrepareReachIDMatches(t *testing.T) {
	if prepare.ReachID("x") != ReachID("x") {
		t.Fatal("prepare.ReachID and recipe.ReachID differ")
	}
}

func TestExistingRouterAndVPNHostsGetTheirSteps(t *testing.T) {
	s := load(t, "single")
	s.Hosts = append(s.Hosts,
		site.Host{Name: "gw", Address: "10.10.0.1", Port: 22, User: "root", Role: site.RoleRouter, Auth: site.Auth{Method: site.AuthAgent}},
		site.Host{Name: "vpn", Address: "10.10.0.3", Port: 22, User: "root", Role: site.RoleVPN, Auth: site.Auth{Method: site.AuthAgent}})
	p, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	order := strings.Join(p.Order(), " ")
	for _, want := range []string{"network/openwrt/gw/uci", "network/softether/vpn/users", "network/dns/vpn/smartdns-config"} {
		if !strings.Contains(order, want) {
			t.Errorf("plan lacks %s:\n%s", want, order)
		}
	}
}
