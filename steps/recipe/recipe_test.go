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
