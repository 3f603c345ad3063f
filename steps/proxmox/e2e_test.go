package proxmox

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/pvesim"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// fullSite is a "full" site: a router box and a server, both PVE, with
// seed 000's VMs.
func fullSite(t *testing.T, lan string) *site.Site {
	t.Helper()
	s, err := site.Parse([]byte(fmt.Sprintf(`version: 1
topology: full
domain: collab.example.org
admin_email: admin@collab.example.org
hosts:
  - {name: router, address: 127.0.0.1, role: pve-router, auth: {method: agent}}
  - {name: server, address: 127.0.0.2, role: pve-server, auth: {method: agent}}
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

// dockerReady stands in for prepare's Docker step on a VM whose image
// has Docker already: done when dockerd answers.
func dockerReady(vm string) engine.Step {
	return &engine.Func{
		StepID: prepare.ID("docker", vm), Name: "Docker answers on " + vm, On: vm, Needs: []string{ReadyID(vm)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			for i := 0; ; i++ {
				_, err := env.Host.Run(ctx, "docker info --format ok", host.RunOpts{Sudo: true})
				if err == nil || i == 60 {
					return err == nil, err
				}
				time.Sleep(time.Second)
			}
		},
	}
}

// TestFullTopologyOnSimulatedPVEHosts runs the VM steps of both PVE hosts
// of a full site against two simulated nodes whose VMs start as lab
// containers, then the swarm steps on swarm-manager and swarm-worker for
// real; a second run changes nothing.
func TestFullTopologyOnSimulatedPVEHosts(t *testing.T) {
	image := labImage(t)
	s := fullSite(t, testLAN(7))
	l := simLab(t, s, image)
	urls := map[string]string{}
	secrets := map[string]string{}
	sims := map[string]*pvesim.Server{}
	for _, h := range []string{"router", "server"} {
		sim, secret := startSim(t, pvesim.Options{Node: h + "-node", OnStart: l.OnStart, OnStop: l.OnStop}, Privileges...)
		addOpenWrtDisks(sim, s)
		sims[h], urls[h], secrets[h] = sim, sim.URL, secret
	}

	build := func() (*engine.Plan, *Set) {
		set := New(s, s.StateDir, Options{APIURL: urls, SkipHostSetup: true, BootTimeout: 3 * time.Minute})
		p := engine.NewPlan()
		p.MustAdd(set.Steps("router")...)
		p.MustAdd(set.Steps("server")...)
		var members []site.Host
		for _, h := range set.SiteHosts() {
			if h.Role == site.RoleManager || h.Role == site.RoleWorker {
				members = append(members, h)
				p.MustAdd(dockerReady(h.Name))
			}
		}
		sw, err := swarm.Steps(members)
		if err != nil {
			t.Fatal(err)
		}
		p.MustAdd(sw...)
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		return p, set
	}
	run := func(label string) engine.Summary {
		p, _ := build()
		te := newEnv(t, s, sshDialer(t, s), host.Spec{Name: "router", Local: true}, host.Spec{Name: "server", Local: true})
		for h, secret := range secrets {
			te.sec.Set(TokenSecret(h), secret)
		}
		var log strings.Builder
		r := &engine.Runner{Plan: p, Hosts: te.inv, Secrets: te.sec, Parallel: 6, PerHost: 1, Emit: func(e engine.Event) {
			switch e.Kind {
			case engine.StepFailed:
				fmt.Fprintf(&log, "FAILED %s: %v (%s)\n", e.Title, e.Err, e.Hint)
			case engine.StepOutput:
				fmt.Fprintf(&log, "  | %s\n", e.Line)
			case engine.StepDone:
				fmt.Fprintf(&log, "ok %s changed=%v\n", e.Title, e.Changed)
			}
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		sum, err := r.Run(ctx)
		t.Logf("%s: %+v in %s", label, sum, time.Since(start).Round(time.Second))
		if err != nil {
			t.Fatalf("%s: %v\n%s", label, err, log.String())
		}
		if label == "fresh apply" {
			mgr, err := te.inv.Get(ctx, "swarm-manager")
			if err != nil {
				t.Fatal(err)
			}
			out, err := mgr.Run(ctx, "docker node ls --format '{{.Hostname}} {{.Status}}'; docker node inspect swarm-worker --format '{{.Spec.Labels}}'", host.RunOpts{Sudo: true})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "swarm-manager Ready") || !strings.Contains(out, "swarm-worker Ready") || !strings.Contains(out, "role:common") {
				t.Errorf("swarm nodes:\n%s", out)
			}
		}
		return sum
	}

	fresh := run("fresh apply")
	if fresh.Changed == 0 {
		t.Error("the fresh apply changed nothing")
	}
	for h, sim := range sims {
		var names []string
		for _, vm := range sim.VMs() {
			names = append(names, vm.Name+"/"+vm.Status)
		}
		t.Logf("%s: %v", h, names)
	}
	if n := len(sims["router"].VMs()) + len(sims["server"].VMs()); n != 5 {
		t.Errorf("%d VMs, want 5", n)
	}
	if vm, ok := sims["server"].VMByName("swarm-worker"); !ok || vm.Status != "running" {
		t.Errorf("swarm-worker on the server: %+v", vm)
	}
	again := run("second apply")
	if again.Changed != 0 {
		t.Errorf("the second apply changed %d steps", again.Changed)
	}
}
