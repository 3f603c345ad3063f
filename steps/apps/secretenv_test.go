package apps

import (
	"sort"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/site"
	"go.yaml.in/yaml/v3"
)

// envSecretsLeft are the generated secrets still passed to services as
// environment values (app: service/VARIABLE), where `docker service
// inspect` shows them. Each should move to a docker secret with the
// image's *_FILE variable or an entrypoint wrapper; this list may only
// shrink. Issue 18.
var envSecretsLeft = map[string][]string{}

// TestNoNewSecretInServiceEnvironments renders every app with marked
// secrets and finds them in environment values, commands and
// entrypoints: anything not in envSecretsLeft fails, and an entry that
// no longer leaks must be taken off the list.
func TestNoNewSecretInServiceEnvironments(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	all := c.Names()
	s := &site.Site{Domain: "example.org", AdminEmail: "a@example.org", Components: map[string]site.Component{}}
	for _, n := range all {
		s.Components[n] = site.Component{}
	}
	in := InputFor(s, all, func(name string) (string, error) { return "SECRETMARK" + name + "X", nil })
	total := 0
	for _, app := range all {
		st, err := c.Render(app, in)
		if err != nil {
			t.Errorf("render %s: %v", app, err)
			continue
		}
		var doc struct {
			Services map[string]struct {
				Environment map[string]any `yaml:"environment"`
				Command     any            `yaml:"command"`
				Entrypoint  any            `yaml:"entrypoint"`
			} `yaml:"services"`
		}
		if err := yaml.Unmarshal(st.Files["stack.yaml"], &doc); err != nil {
			t.Errorf("%s: %v", app, err)
			continue
		}
		allowed := map[string]bool{}
		for _, a := range envSecretsLeft[app] {
			allowed[a] = true
		}
		used := map[string]bool{}
		var found []string
		for sn, svc := range doc.Services {
			for k, v := range svc.Environment {
				b, _ := yaml.Marshal(v)
				if !strings.Contains(string(b), "SECRETMARK") {
					continue
				}
				total++
				switch {
				case allowed[sn+"/"+k]:
					used[sn+"/"+k] = true
				case allowed["*/"+k]:
					used["*/"+k] = true
				default:
					found = append(found, sn+"/"+k)
				}
			}
			for what, v := range map[string]any{"command": svc.Command, "entrypoint": svc.Entrypoint} {
				if b, _ := yaml.Marshal(v); strings.Contains(string(b), "SECRETMARK") {
					found = append(found, sn+" "+what)
				}
			}
		}
		sort.Strings(found)
		for _, f := range found {
			t.Errorf("%s: a generated secret in %s: pass it as a docker secret (*_FILE or an entrypoint wrapper)", app, f)
		}
		for a := range allowed {
			if !used[a] {
				t.Errorf("%s: %s no longer carries a secret: take it off envSecretsLeft", app, a)
			}
		}
	}
	t.Logf("%d environment values still carry a generated secret, in %d apps", total, len(envSecretsLeft))
}
