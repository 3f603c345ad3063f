package recipe

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/examples"
	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/network"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/proxmox"
	"github.com/collabstack/collabstack/steps/pveinstall"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
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
	for _, id := range []string{"lab/image", "lab/ready/lab-1", layout.ReachID("lab-1"), layout.ReachID("lab-2"), prepare.ID("docker", "lab-2")} {
		if !strings.Contains(order, id) {
			t.Errorf("the lab plan lacks %s:\n%s", id, order)
		}
	}
	if strings.Index(order, "lab/ready/lab-1") > strings.Index(order, layout.ReachID("lab-1")) {
		t.Errorf("lab-1 is reached before it is ready")
	}
}

func TestPrepareReachIDMatches(t *testing.T) {
	if layout.ReachID("x") != layout.ReachID("x") {
		t.Fatal("layout.ReachID and layout.ReachID differ")
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

// The full topology: PVE installed on both boxes, then the VMs through
// the API, a snapshot before each router's configuration, the routers and
// the VPN host configured, and the swarm and apps on the swarm VMs.
func TestFullTopologyPlanOrder(t *testing.T) {
	p, err := Build(load(t, site.TopologyFull))
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, id := range p.Order() {
		pos[id] = i
	}
	before := func(a, b string) {
		t.Helper()
		ia, oka := pos[a]
		ib, okb := pos[b]
		if !oka || !okb {
			t.Fatalf("missing %s (%v) or %s (%v)", a, oka, b, okb)
		}
		if ia >= ib {
			t.Errorf("%s comes after %s", a, b)
		}
	}
	s := load(t, site.TopologyFull)
	var pveServer, pveRouter string
	for _, h := range s.Hosts {
		switch h.Role {
		case site.RolePVEServer:
			pveServer = h.Name
		case site.RolePVERouter:
			pveRouter = h.Name
		}
	}
	before(pveinstall.LastID(pveServer), proxmox.CreateID("swarm-manager"))
	before(pveinstall.LastID(pveRouter), proxmox.CreateID("outer-openwrt"))
	before(proxmox.SnapshotID("outer-openwrt", UCISnapshot), network.RouterID("outer-openwrt", "uci"))
	before(network.RouterID("outer-openwrt", "uci"), proxmox.CreateID("swarm-worker"))
	before(proxmox.ReadyID("swarm-manager"), layout.ReachID("swarm-manager"))
	before(layout.ReachID("swarm-manager"), swarm.InitID)
	before(swarm.JoinID("swarm-worker"), swarm.ReadyID)
	before(proxmox.ReadyID("vpn-softether"), network.SoftEtherID("vpn-softether", "install"))
}

// Apps that do not fit the VMs carrying their label stop the plan, naming
// the VMs and what to raise; bigger VMs take them.
func TestAppsOverVMMemoryAreRefused(t *testing.T) {
	s := load(t, site.TopologySingle)
	c, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	s.Components = map[string]site.Component{}
	for _, n := range c.Names() {
		s.Components[n] = site.Component{}
	}
	_, err = Build(s)
	if err == nil || !strings.Contains(err.Error(), "the VMs labelled") || !strings.Contains(engine.HintOf(err), "memory_mb") {
		t.Fatalf("every app on the default VMs: %v (%s)", err, engine.HintOf(err))
	}
	for i := range s.Proxmox.VMs {
		s.Proxmox.VMs[i].MemoryMB *= 4
		s.Proxmox.VMs[i].DiskGB *= 4
		s.Proxmox.VMs[i].Cores *= 4
	}
	if _, err := Build(s); err != nil && strings.Contains(err.Error(), "over-commit") {
		t.Fatalf("with four times the VMs: %v", err)
	}
}

// TestOneNodeSitesRunCommonAppsOnTheManager: a site whose only swarm node
// is the manager (label infra) has no node labelled common; its common
// apps are placed on infra instead, or swarm would never schedule them.
// The site itself keeps its components as written.
func TestOneNodeSitesRunCommonAppsOnTheManager(t *testing.T) {
	catalog, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	s := &site.Site{Components: map[string]site.Component{"adminer": {}, "redis": {}}}
	one := lab.SiteHosts(1, t.TempDir())
	got := onLabelsThatExist(s, catalog, []string{"adminer", "redis"}, one, one[0])
	if got.Components["adminer"].Placement != site.LabelInfra {
		t.Errorf("adminer on a one-node lab: placement %q, want %s", got.Components["adminer"].Placement, site.LabelInfra)
	}
	if s.Components["adminer"].Placement != "" {
		t.Errorf("the site's own components changed: %+v", s.Components["adminer"])
	}
	two := lab.SiteHosts(2, t.TempDir())
	if got := onLabelsThatExist(s, catalog, []string{"adminer", "redis"}, two, two[0]); got != s {
		t.Errorf("a two-node lab has both labels; the site should be used as it is, got %+v", got.Components)
	}
}
