package apps

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/swarm"
)

// Every secret and config a catalog stack declares is named by a version
// of its value (swarm.VersionedName): an external secret by the version
// its secrets step creates (AppSecrets), a rendered file by its content.
// So no stack names a fixed swarm name whose value could change under it,
// and every name fits docker's limit.
func TestEverySecretAndConfigIsVersioned(t *testing.T) {
	c := loadCatalog(t)
	in := everything(t, c)
	key, _ := in.Secret(swarm.VersionKeySecret)
	external := 0
	for name, st := range renderAll(t, c) {
		var f struct {
			Secrets map[string]struct {
				External bool   `yaml:"external"`
				Name     string `yaml:"name"`
			} `yaml:"secrets"`
			Configs map[string]struct {
				Name string `yaml:"name"`
			} `yaml:"configs"`
		}
		if err := yaml.Unmarshal(st.Files["stack.yaml"], &f); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		ss, err := AppSecrets(c.apps[name], func(n string, _ int) (string, error) { return in.Secret(n) })
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			want[s.Base] = s.Name(key)
		}
		for k, s := range f.Secrets {
			where := name + ": secrets." + k
			if swarm.BaseOf(s.Name) == "" || len(s.Name) > swarm.MaxNameLen {
				t.Errorf("%s: name %q is not a version (base_<12 hex>) within %d characters", where, s.Name, swarm.MaxNameLen)
				continue
			}
			if s.External {
				external++
				if w, ok := want[swarm.BaseOf(s.Name)]; !ok || w != s.Name {
					t.Errorf("%s: names %s, its secrets step creates %q", where, s.Name, w)
				}
			}
		}
		for k, cf := range f.Configs {
			if swarm.BaseOf(cf.Name) == "" || len(cf.Name) > swarm.MaxNameLen {
				t.Errorf("%s: configs.%s: name %q is not a version", name, k, cf.Name)
			}
		}
	}
	if external < 20 {
		t.Errorf("only %d external secrets checked", external)
	}
}

// A changed value in the secrets file changes the name of that secret
// only; the rest of the stack stays, and the file inside the container
// keeps its name (the compose key).
func TestAChangedValueIsANewVersion(t *testing.T) {
	c := loadCatalog(t)
	in := everything(t, c)
	before, err := c.Render("postgres", in)
	if err != nil {
		t.Fatal(err)
	}
	changed := in
	changed.Secret = func(n string) (string, error) {
		if n == SecretName("postgres", "admin-password") {
			return "a new value", nil
		}
		return in.Secret(n)
	}
	after, err := c.Render("postgres", changed)
	if err != nil {
		t.Fatal(err)
	}
	b, a := string(before.Files["stack.yaml"]), string(after.Files["stack.yaml"])
	if a == b {
		t.Fatal("a changed admin password renders the same stack: it would never reach the swarm")
	}
	bl, al := strings.Split(b, "\n"), strings.Split(a, "\n")
	var diff []string
	for i := range bl {
		if bl[i] != al[i] {
			diff = append(diff, al[i])
		}
	}
	if len(diff) != 1 || !strings.Contains(diff[0], "name: postgres_admin_password_") {
		t.Errorf("lines changed: %q", diff)
	}
	if !strings.Contains(a, "POSTGRES_PASSWORD_FILE: /run/secrets/postgres_admin_password\n") {
		t.Error("the file in the container changed its name")
	}
	// The hook that sets the password in the database follows the version.
	if !contains(c.apps["postgres"].Rotate, "admin-password") || len(c.apps["postgres"].Hooks) == 0 {
		t.Error("postgres' admin password rotates without its hook")
	}
}
