package proxmox

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/pvesim"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// uuid makes a token secret shaped like PVE's.
func uuid(t testing.TB) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// startSim starts a simulated PVE node whose token holds privs.
func startSim(t testing.TB, o pvesim.Options, privs ...string) (*pvesim.Server, string) {
	t.Helper()
	sim, err := pvesim.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	secret := uuid(t)
	sim.AddToken(TokenID, secret, privs...)
	imgs, err := PinnedImages()
	if err != nil {
		t.Fatal(err)
	}
	// What the storage and image steps put on the host.
	sim.AddVolume("local:import/"+imgs.Debian.File, 3<<30)
	sim.AddVolume("local:snippets/"+VendorSnippet, 300)
	return sim, secret
}

// addOpenWrtDisks puts the disks the OpenWrt image steps make.
func addOpenWrtDisks(sim *pvesim.Server, s *site.Site) {
	for _, vm := range s.Proxmox.VMs {
		if vm.Kind == site.VMOpenWrt {
			sim.AddVolume("local:import/"+openWrtDisk(vm.Name), 120<<20)
		}
	}
}

// singleSite is a "single" site on the PVE host "pve" with the default VMs.
func singleSite(t testing.TB, lan string) *site.Site {
	t.Helper()
	s, err := site.Parse([]byte(fmt.Sprintf(`version: 1
topology: single
domain: collab.example.org
admin_email: admin@collab.example.org
hosts:
  - name: pve
    address: 127.0.0.1
    role: pve-server
    auth: {method: agent}
network:
  lan: %s
`, lan)))
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

// testEnv is what the runner gives a step: the PVE host is this machine
// (the simulator needs no SSH), secrets in the state directory.
type testEnv struct {
	env  *engine.Env
	sec  *secrets.Store
	inv  *engine.Inventory
	logs *strings.Builder
}

func newEnv(t testing.TB, s *site.Site, dial engine.Dialer, specs ...host.Spec) *testEnv {
	t.Helper()
	sec, err := secrets.Open(filepath.Join(s.StateDir, "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if dial == nil {
		dial = func(ctx context.Context, spec host.Spec, inv *engine.Inventory) (host.Host, error) {
			if spec.Local {
				return host.NewLocal(spec.Name), nil
			}
			return nil, fmt.Errorf("%s: no SSH in this test", spec.Name)
		}
	}
	specs = append(specs, host.Spec{Name: "pve", Local: true})
	inv := engine.NewInventory(dial, specs...)
	t.Cleanup(func() { inv.Close() })
	logs := &strings.Builder{}
	env := &engine.Env{Hosts: inv, Secrets: sec, Out: func(l string) { logs.WriteString(l + "\n"); t.Log(l) }}
	return &testEnv{env: env, sec: sec, inv: inv, logs: logs}
}

// run checks each step of ids in order and applies it when not done; it
// returns the IDs it applied.
func (te *testEnv) run(t testing.TB, steps []engine.Step, ids ...string) ([]string, error) {
	t.Helper()
	byID := map[string]engine.Step{}
	for _, s := range steps {
		byID[s.ID()] = s
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var applied []string
	for _, id := range ids {
		s, ok := byID[id]
		if !ok {
			t.Fatalf("no step %s", id)
		}
		env := *te.env
		if h := s.HostName(); h != "" {
			hh, err := te.inv.Get(ctx, h)
			if err != nil {
				return applied, err
			}
			env.Host = hh
		}
		done, err := s.Check(ctx, &env)
		if err != nil {
			return applied, fmt.Errorf("check %s: %w", id, err)
		}
		if done {
			continue
		}
		if err := s.Apply(ctx, &env); err != nil {
			return applied, fmt.Errorf("apply %s: %w", id, err)
		}
		applied = append(applied, id)
		if done, err := s.Check(ctx, &env); err != nil || !done {
			return applied, fmt.Errorf("%s is not done after apply (%v)", id, err)
		}
	}
	return applied, nil
}

// vmIDs lists the step IDs of the VMs' create and start steps.
func vmIDs(s *site.Site, what ...string) []string {
	var out []string
	for _, vm := range s.Proxmox.VMs {
		for _, w := range what {
			out = append(out, VMStepID(vm.Name, w))
		}
	}
	return out
}

func countRequests(sim *pvesim.Server, method, path string) int {
	n := 0
	for _, r := range sim.Requests() {
		if r.Method == method && r.Path == path {
			n++
		}
	}
	return n
}

// snippetsTo puts the snippets the create steps write into the simulator,
// where WriteSnippetOverSSH would write them onto the PVE host's storage
// (pvesm path, upload 0600 as root): these tests have no SSH to a PVE
// host, so they cannot show that upload.
func snippetsTo(sim *pvesim.Server) SnippetWriter {
	return func(_ context.Context, _ *engine.Env, _, volume string, data []byte) error {
		sim.PutSnippet(volume, data)
		return nil
	}
}

// snippetsOn is snippetsTo for the simulators of several PVE hosts.
func snippetsOn(sims map[string]*pvesim.Server) SnippetWriter {
	return func(ctx context.Context, env *engine.Env, pveHost, volume string, data []byte) error {
		sim, ok := sims[pveHost]
		if !ok {
			return fmt.Errorf("no simulator for %s", pveHost)
		}
		return snippetsTo(sim)(ctx, env, pveHost, volume, data)
	}
}
