package lifecycle

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/site"
)

func siteWith(t *testing.T, comps ...string) *site.Site {
	t.Helper()
	s := &site.Site{Domain: "example.org", Components: map[string]site.Component{}}
	for _, c := range comps {
		s.Components[c] = site.Component{}
	}
	return s
}

func catalog(t *testing.T) *apps.Catalog {
	t.Helper()
	c, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A component another chosen one requires is refused, naming which; so
// is the edge while web apps are left, and an implicit dependency.
func TestRemoveRefusesWhatAnotherComponentNeeds(t *testing.T) {
	c := catalog(t)
	for _, tc := range []struct {
		comps  []string
		remove string
		want   []string
	}{
		{[]string{"postgres", "etherpad", "nextcloud"}, "postgres", []string{"etherpad", "nextcloud"}},
		{[]string{"etherpad", "nextcloud"}, "postgres", []string{"etherpad", "nextcloud"}},
		{[]string{"nextcloud", "redis"}, "redis", []string{"nextcloud"}},
		{[]string{"adminer", "edge"}, "edge", []string{"adminer"}},
	} {
		_, err := PlanRemove(siteWith(t, tc.comps...), c, tc.remove)
		var re *RefusedError
		if !errors.As(err, &re) || !slices.Equal(re.NeededBy, tc.want) {
			t.Errorf("remove %s from %v: want refused, needed by %v; got %v", tc.remove, tc.comps, tc.want, err)
			continue
		}
		for _, n := range tc.want {
			if !strings.Contains(err.Error(), n) {
				t.Errorf("the refusal does not name %s: %v", n, err)
			}
		}
	}
	if _, err := PlanRemove(siteWith(t, "adminer"), c, "nosuchapp"); !errors.Is(err, ErrNotAComponent) {
		t.Errorf("an unknown name: %v", err)
	}
}

// What only the removed component needed goes with it; what another
// still needs, or the user chose, stays.
func TestRemoveTakesItsOrphans(t *testing.T) {
	c := catalog(t)
	r, err := PlanRemove(siteWith(t, "etherpad", "adminer"), c, "etherpad")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Orphans, []string{"postgres"}) || r.Database == nil || r.Database.Name != "etherpad" || !r.EngineRemoved {
		t.Errorf("etherpad beside adminer: %+v %+v", r, r.Database)
	}
	r, err = PlanRemove(siteWith(t, "etherpad", "postgres"), c, "etherpad")
	if err != nil || !slices.Equal(r.Orphans, []string{apps.EdgeName}) || r.EngineRemoved {
		t.Errorf("etherpad with postgres chosen: %+v %v", r, err)
	}
	r, err = PlanRemove(siteWith(t, "adminer"), c, "adminer")
	if err != nil || !slices.Equal(r.Orphans, []string{apps.EdgeName}) {
		t.Errorf("the last web app takes the edge with it: %+v %v", r, err)
	}
	r, err = PlanRemove(siteWith(t, "redis", "adminer"), c, "redis")
	if err != nil || len(r.Orphans) != 0 || r.Database != nil || !r.InSite {
		t.Errorf("redis: %+v %v", r, err)
	}
}

// The site file loses the component and nothing else: comments, order
// and the other components' options stay; the old file is kept.
func TestRewriteSiteKeepsTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.yaml")
	orig := `# my site
version: 1
topology: lab
domain: example.org # the public name
admin_email: admin@example.org
components:
  # the pad for the team
  etherpad: {}
  redis: {} # cache
  adminer:
    options:
      allow_from: [10.0.0.0/8]
`
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RewriteSite(path, "redis"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	s, err := site.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Components["redis"]; ok || len(s.Components) != 2 {
		t.Errorf("components after removing redis: %v", s.Components)
	}
	for _, keep := range []string{"# my site", "# the public name", "# the pad for the team", "allow_from: [10.0.0.0/8]"} {
		if !strings.Contains(string(got), keep) {
			t.Errorf("%q lost:\n%s", keep, got)
		}
	}
	if strings.Index(string(got), "etherpad") > strings.Index(string(got), "adminer") {
		t.Errorf("order changed:\n%s", got)
	}
	if b, _ := os.ReadFile(path + ".before-remove"); string(b) != orig {
		t.Errorf("the file as it was is not kept")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	// Again: nothing to do, nothing written.
	if err := RewriteSite(path, "redis"); err != nil {
		t.Fatal(err)
	}
	if err := RewriteSite(path, "etherpad"); err != nil {
		t.Fatal(err)
	}
	if err := RewriteSite(path, "adminer"); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if _, err := site.Parse(got); err != nil || !strings.Contains(string(got), "components: {}") {
		t.Errorf("no component left: %v\n%s", err, got)
	}
}

func TestDropSQL(t *testing.T) {
	for _, tc := range []struct{ engine, want string }{
		{"postgres", `DROP DATABASE IF EXISTS "etherpad";`},
		{"mariadb", "DROP DATABASE IF EXISTS `etherpad`;"},
	} {
		b, err := DropSQL("etherpad", apps.Database{Engine: tc.engine, Name: "etherpad", User: "etherpad"})
		if err != nil || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s: %v\n%s", tc.engine, err, b)
		}
	}
	if _, err := DropSQL("x", apps.Database{Engine: "nosuch", Name: "x", User: "x"}); err == nil {
		t.Error("an engine without drop SQL")
	}
}

// kopnik takes its standby's stack with it.
func TestRemoveKopnikTakesItsStandby(t *testing.T) {
	r, err := PlanRemove(siteWith(t, "kopnik", "adminer"), catalog(t), "kopnik")
	if err != nil || !slices.Equal(r.Orphans, []string{"kopnik-standby"}) || !r.InSite {
		t.Errorf("%+v %v", r, err)
	}
}
