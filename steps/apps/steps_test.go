package apps

import (
	"github.com/collabstack/collabstack/steps/pki"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

func labSite() *site.Site {
	s := &site.Site{
		Version: site.Version, Topology: site.TopologyLab, Domain: "lab.test", AdminEmail: "admin@lab.test",
		Hosts: []site.Host{{Name: "lab-1", Address: "10.0.0.1", Role: site.RoleManager}, {Name: "lab-2", Address: "10.0.0.2", Role: site.RoleWorker}},
		Components: map[string]site.Component{
			"etherpad":   {Options: map[string]any{"plugins": []any{"ep_headings2"}}},
			"ethercalc":  {Placement: site.LabelInfra},
			"freeradius": {},
			"synapse":    {},
			"kopnik":     {}, // a preset, not a catalog app: left alone
		},
	}
	s.ApplyDefaults()
	return s
}

func TestStepsMakeAValidPlanWithTheSwarm(t *testing.T) {
	c := loadCatalog(t)
	s := labSite()
	if err := s.Validate(c); err == nil || !strings.Contains(err.Error(), "kopnik") {
		t.Errorf("site validation with the catalog: %v", err)
	}
	steps, err := c.Steps(s, "lab-1", "lab/standins")
	if err != nil {
		t.Fatal(err)
	}
	p := engine.NewPlan()
	sw, err := swarm.Steps(s.Hosts)
	if err != nil {
		t.Fatal(err)
	}
	p.MustAdd(sw...)
	// What the swarm steps come after, as the recipe adds them.
	for _, h := range s.Hosts {
		p.MustAdd(&engine.Func{StepID: prepare.ID("docker", h.Name)})
	}
	p.MustAdd(&engine.Func{StepID: "lab/standins"})
	p.MustAdd(steps...)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	order := strings.Join(p.Order(), " ")
	for _, id := range []string{
		SecretsID("postgres"), DeployID("postgres"), DatabaseID("etherpad"), DeployID("etherpad"),
		DeployID("redis"), DeployID("ethercalc"), DeployID("openldap"), DeployID("freeradius"), TLSID, DeployID(EdgeName),
	} {
		if !strings.Contains(order, id) {
			t.Errorf("no step %s in %s", id, order)
		}
	}
	before := func(a, b string) {
		if strings.Index(order, a) > strings.Index(order, b) {
			t.Errorf("%s comes after %s", a, b)
		}
	}
	before(DeployID("postgres"), DatabaseID("etherpad"))
	before(DatabaseID("etherpad"), DeployID("etherpad"))
	before(SecretsID("openldap"), DeployID("openldap"))
	before(TLSID, DeployID(EdgeName))
	before(DeployID("synapse"), HookID("synapse", "admin"))
	for _, st := range steps {
		comp := st.(engine.Componented).Component()
		if !strings.Contains(st.ID(), "/"+comp+"/") {
			t.Errorf("%s has component %s", st.ID(), comp)
		}
		if st.HostName() != "lab-1" {
			t.Errorf("%s runs on %s", st.ID(), st.HostName())
		}
	}
	only, err := p.Only("etherpad")
	if err != nil || only.Len() == 0 {
		t.Errorf("--only etherpad: %v", err)
	}
	refs, err := c.ImageRefs(s)
	if err != nil || !strings.Contains(strings.Join(refs, " "), "etherpad/etherpad:") || !strings.Contains(strings.Join(refs, " "), "nginx:") {
		t.Errorf("image refs %v %v", refs, err)
	}
}

func TestStepsRefuseABadOption(t *testing.T) {
	c := loadCatalog(t)
	s := labSite()
	s.Components["etherpad"] = site.Component{Options: map[string]any{"plugin": []any{"x"}}}
	if _, err := c.Steps(s, "lab-1"); err == nil || !strings.Contains(err.Error(), "plugins") {
		t.Errorf("bad option: %v", err)
	}
}

func TestSelfSignedCoversDomainAndWildcard(t *testing.T) {
	cert, key, err := pki.SelfSigned("lab.test", "*.lab.test")
	if err != nil || len(key) == 0 {
		t.Fatal(err)
	}
	if !pki.Covers(cert, "lab.test", "*.lab.test") || pki.Covers(cert, "other.test") {
		t.Error("coverage is wrong")
	}
}

func TestLetsEncryptSitesGetTheACMEStepsAfterTheEdge(t *testing.T) {
	c := loadCatalog(t)
	s := labSite()
	s.Topology = site.TopologyKopnik
	s.Domain = "collab.example.org"
	s.TLS.Mode = site.TLSLetsEncrypt
	steps, err := c.Steps(s, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	var issue engine.Step
	for _, st := range steps {
		if st.ID() == acme.IssueID(EdgeName) {
			issue = st
		}
	}
	if issue == nil {
		t.Fatal("no certificate step for the edge")
	}
	for _, d := range []string{"collab.example.org", "pad.collab.example.org", "matrix.collab.example.org"} {
		if !strings.Contains(issue.Title(), d) {
			t.Errorf("the certificate does not cover %s: %s", d, issue.Title())
		}
	}
}
