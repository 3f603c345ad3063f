package apps

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/internal/testtools"
)

// hostileValue has what shells, YAML, JSON and compose read as syntax,
// and a line break followed by unbalanced quotes: a value pasted without
// the escaper of its target breaks the file's syntax or adds to it.
const hostileValue = `a'b"c` + "`id`" + `$(id)${HOME};d\e&f|g{h}#i` + "\n" + `'" - pwned: PWNED`

// TestHostileValuesStayData renders every app's stack, files and hooks for
// a site whose admin e-mail and every secret are hostile (secrets can be
// set by hand with `collabstack secret set`). Stacks and YAML files must
// parse with the value whole in one scalar (after docker's $$); JSON must
// parse; every hook must pass `sh -n`. Host names and the domain are
// not varied: site validation admits only DNS names there (steps/site).
func TestHostileValuesStayData(t *testing.T) {
	sh := testtools.NeedCommand(t, "sh", "a POSIX shell")
	c := loadCatalog(t)
	in := everything(t, c)
	in.AdminEmail = hostileValue
	in.Secret = func(string) (string, error) { return hostileValue, nil }
	dir := t.TempDir()
	files, hooks := 0, 0
	for _, name := range in.Selected {
		st, err := c.Render(name, in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for f, data := range st.Files {
			switch {
			case strings.HasSuffix(f, ".yaml") || strings.HasSuffix(f, ".yml"):
				var doc yaml.Node
				if err := yaml.Unmarshal(data, &doc); err != nil {
					t.Errorf("%s/%s does not parse: %v\n%s", name, f, err, data)
					continue
				}
				checkScalars(t, name+"/"+f, &doc, f == "stack.yaml")
			case strings.HasSuffix(f, ".json"):
				if !json.Valid(data) {
					t.Errorf("%s/%s is not JSON:\n%s", name, f, data)
				}
			}
			files++
		}
		a, _ := c.Get(name)
		for _, h := range a.Hooks {
			d, err := c.data(name, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{h.Script, h.Check} {
				tm, err := c.parse(name, f, c.funcs(name, in))
				if err != nil {
					t.Fatal(err)
				}
				out, err := execute(tm, f, d)
				if err != nil {
					t.Errorf("%s/%s: %v", name, f, err)
					continue
				}
				p := filepath.Join(dir, name+"-"+filepath.Base(f))
				os.WriteFile(p, out, 0o600)
				if msg, err := exec.Command(sh, "-n", p).CombinedOutput(); err != nil {
					t.Errorf("%s/%s: sh -n: %v %s\n%s", name, f, err, msg, out)
				}
				hooks++
			}
		}
	}
	if files < 50 || hooks < 15 {
		t.Fatalf("only %d files and %d hook scripts rendered", files, hooks)
	}
}

// checkScalars: no key was made from the value, and every scalar holding
// part of it holds it whole.
func checkScalars(t *testing.T, where string, n *yaml.Node, compose bool) {
	t.Helper()
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.Contains(n.Content[i].Value, "PWNED") || strings.Contains(n.Content[i].Value, "pwned") {
				t.Errorf("%s: the value made a key %q", where, n.Content[i].Value)
			}
			checkScalars(t, where, n.Content[i+1], compose)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			checkScalars(t, where, c, compose)
		}
	case yaml.ScalarNode:
		v := n.Value
		if compose {
			v = strings.ReplaceAll(v, "$$", "$")
		}
		if strings.Contains(v, "PWNED") && !strings.Contains(v, hostileValue) {
			t.Errorf("%s: the value was cut or changed: %q", where, n.Value)
		}
	}
}
