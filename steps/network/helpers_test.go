package network

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testSite is seed 000's full topology with a few apps and VPN users.
func testSite(t testing.TB) *site.Site {
	t.Helper()
	s := &site.Site{
		Version: site.Version, Topology: site.TopologyFull, Domain: "collab.example.org", AdminEmail: "admin@collab.example.org",
		Hosts: []site.Host{
			{Name: "router", Address: "192.0.2.2", Role: site.RolePVERouter},
			{Name: "server", Address: "192.0.2.3", Role: site.RolePVEServer},
		},
		Network: &site.Network{VPNUsers: []string{"alice", "bob"}, PublicIPv4: "203.0.113.7"},
		Components: map[string]site.Component{
			"postgres": {}, "redis": {}, "nextcloud": {}, "etherpad": {},
			"onlyoffice": {}, "james": {},
		},
	}
	s.ApplyDefaults()
	if err := s.Validate(nil); err != nil {
		t.Fatalf("test site: %v", err)
	}
	return s
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run `go test ./steps/network -run %s -update` to create it)", err, t.Name())
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file (rerun with -update if the change is meant):\n--- got\n%s", p, got)
	}
}

// testEnv is an engine.Env on h with a fresh secrets store.
func testEnv(t *testing.T, h host.Host) *engine.Env {
	t.Helper()
	store, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	red := secrets.NewRedactor(store)
	return &engine.Env{Host: h, Secrets: store, Out: func(line string) { t.Log(red.Redact(line)) }}
}

// runSteps runs steps in order as the engine would: Check, Apply when
// not done, then Check again, which must say done. It returns how many
// steps changed something.
func runSteps(ctx context.Context, t *testing.T, env *engine.Env, steps []engine.Step) int {
	t.Helper()
	changed := 0
	for _, st := range steps {
		done, err := st.Check(ctx, env)
		if err != nil {
			t.Fatalf("%s: check: %v (hint: %s)", st.ID(), err, engine.HintOf(err))
		}
		if done {
			continue
		}
		changed++
		t.Logf("apply %s: %s", st.ID(), st.Title())
		if err := st.Apply(ctx, env); err != nil {
			t.Fatalf("%s: apply: %v (hint: %s)", st.ID(), err, engine.HintOf(err))
		}
		done, err = st.Check(ctx, env)
		if err != nil || !done {
			t.Fatalf("%s: not done after apply (err %v)", st.ID(), err)
		}
	}
	return changed
}
