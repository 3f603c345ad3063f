package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/pvesim"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
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
// real; a second run changes nothing. The VMs' sshd present the host keys
// collabstack put in their cloud-init user data (the simulator installs
// them before sshd starts), and the dialer refuses any key nothing
// vouches for: no VM is trusted on first use. What the simulator cannot
// show: real cloud-init (cc_ssh) on the Debian cloud image writing those
// keys, nor OpenWrt's first boot writing dropbear's (sshkey's test runs
// the real dropbear on the key, network's test the script's printf).
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
		set := New(s, s.StateDir, Options{APIURL: urls, SkipHostSetup: true, WriteSnippet: snippetsOn(sims), BootTimeout: 3 * time.Minute})
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
	runOnce := func(label string) (engine.Summary, string, error) {
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
			return sum, log.String(), err
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
		return sum, log.String(), nil
	}
	run := func(label string) engine.Summary {
		t.Helper()
		sum, log, err := runOnce(label)
		if err != nil {
			t.Fatalf("%s: %v\n%s", label, err, log)
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
	// Every VM was reached with the host key collabstack gave it (Debian:
	// cloud-init user data; OpenWrt: its first-boot script, which lab.go's
	// HostKey stands in for), pinned in known_hosts: no key was trusted on
	// first use (the dialer refuses unknown keys).
	kh, err := ssh.Open(filepath.Join(s.StateDir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, vm := range s.Proxmox.VMs {
		want := HostKeyFingerprint(s.StateDir, vm.Name)
		var got []string
		for _, k := range kh.Lookup(vm.Name, netip.MustParsePrefix(vm.Address).Addr().String()+":22") {
			got = append(got, gossh.FingerprintSHA256(k))
		}
		if want == "" || len(got) != 1 || got[0] != want {
			t.Errorf("%s: pinned %v, issued %q", vm.Name, got, want)
		}
	}

	// A VM that presents another key (here: swarm-worker's sshd given a
	// new key, as a machine in the middle would present its own) stops
	// the run with the host key error, exit code 4 (cli's exitCode maps
	// *ssh.HostKeyMismatchError to it).
	ctx := context.Background()
	if out, err := exec.CommandContext(ctx, "docker", "exec", l.Container("swarm-worker"), "sh", "-c",
		"rm -f /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl restart ssh").CombinedOutput(); err != nil {
		t.Fatalf("give swarm-worker another host key: %v\n%s", err, out)
	}
	_, log, err := runOnce("apply with swarm-worker presenting another key")
	var mm *ssh.HostKeyMismatchError
	if !errors.As(err, &mm) || mm.Host != "swarm-worker" || !errors.Is(err, host.ErrHostKeyChanged) {
		t.Fatalf("want swarm-worker's host key error, got %T %v\n%s", err, err, log)
	}
	if !mm.Issued || mm.Want != HostKeyFingerprint(s.StateDir, "swarm-worker") {
		t.Errorf("the error does not name the issued key: %v", mm)
	}
}
