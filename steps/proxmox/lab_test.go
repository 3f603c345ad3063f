package proxmox

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/labtest"
	"github.com/collabstack/collabstack/steps/internal/pvesim"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
	"github.com/collabstack/collabstack/steps/sshkey"
)

// labImage starts a lab node (building the lab image with Docker once)
// and returns its image, for the containers that stand in for VMs.
func labImage(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts lab containers")
	}
	l := labtest.Start(t, 1, lab.ImageDocker)
	out, err := exec.Command("docker", "inspect", "--format", "{{.Config.Image}}", l.Nodes[0].Container).Output()
	if err != nil {
		t.Fatalf("inspect %s: %v", l.Nodes[0].Container, err)
	}
	return strings.TrimSpace(string(out))
}

// testLAN is a /24 for the test's docker network, unlikely to be taken.
func testLAN(salt int) string {
	n := (os.Getpid() + salt) % 200
	return fmt.Sprintf("10.%d.%d.0/24", 180+n%50, n)
}

// simLab is the simulator's lab hook on the site's LAN; the docker
// bridge (this machine) takes the end of the LAN, as the PVE host would.
func simLab(t *testing.T, s *site.Site, image string) *pvesim.Lab {
	t.Helper()
	p := netip.MustParsePrefix(s.Network.LAN)
	// The end of the LAN, where the first PVE host sits.
	gw := netip.MustParsePrefix(New(s, s.StateDir, Options{}).lanAddress(s.Hosts[0].Name)).Addr()
	l := &pvesim.Lab{
		Image: image, Network: fmt.Sprintf("cs-pvesim-%d", os.Getpid()%100000), Subnet: p.String(), Gateway: gw.String(),
		Logf: t.Logf,
		Keys: func(vm pvesim.VM) []string {
			key, err := EnsureKey(KeyPath(s.StateDir))
			if err != nil {
				t.Error(err)
			}
			return []string{key}
		},
		Address: func(vm pvesim.VM) string {
			v, _ := SiteVM(s, vm.Name)
			return netip.MustParsePrefix(v.Address).Addr().String()
		},
		// An OpenWrt VM's host key as its first-boot script installs it
		// (the image step makes the key: these tests skip that step, so
		// the key is made here the same way, sshkey.Ensure).
		HostKey: func(vm pvesim.VM) []byte {
			path := HostKeyPath(s.StateDir, vm.Name)
			if _, err := sshkey.Ensure(path, ""); err != nil {
				t.Error(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Error(err)
			}
			return data
		},
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := l.Close(ctx); err != nil {
			t.Logf("lab cleanup: %v", err)
		}
	})
	return l
}

// sshDialer is the dialer of a headless apply without
// --accept-new-host-keys: a VM must offer the host key collabstack gave
// it, from its first connection on.
func sshDialer(t *testing.T, s *site.Site) engine.Dialer {
	t.Helper()
	d, err := ssh.DialerFor(filepath.Join(s.StateDir, "known_hosts"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAStartedVMBecomesAHostThatAnswersSSH(t *testing.T) {
	image := labImage(t)
	s := singleSite(t, testLAN(0))
	l := simLab(t, s, image)
	sim, secret := startSim(t, pvesim.Options{OnStart: l.OnStart, OnStop: l.OnStop}, Privileges...)
	te := newEnv(t, s, sshDialer(t, s))
	te.sec.Set(TokenSecret("pve"), secret)
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim), BootTimeout: 3 * time.Minute})
	ids := []string{BudgetID("pve"), CreateID("swarm-manager"), VMStepID("swarm-manager", "start"), VMStepID("swarm-manager", "boot"), ReadyID("swarm-manager")}
	steps := set.Steps("pve")
	if _, err := te.run(t, steps, ids...); err != nil {
		t.Fatalf("%v\n%s", err, te.logs)
	}
	spec, ok := te.inv.Spec("swarm-manager")
	if !ok || spec.Address != "10."+strings.Split(s.Network.LAN, ".")[1]+"."+strings.Split(s.Network.LAN, ".")[2]+".11" || spec.User != site.DefaultAdminUser || spec.Jump != "" {
		t.Errorf("registered spec %+v", spec)
	}
	ctx := context.Background()
	h, err := te.inv.Get(ctx, "swarm-manager")
	if err != nil {
		t.Fatal(err)
	}
	out, err := h.Run(ctx, "uname -n; id -un", host.RunOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out); len(got) != 2 || got[0] != "swarm-manager" || got[1] != site.DefaultAdminUser {
		t.Errorf("uname -n; id -un: %q", out)
	}
	if _, err := h.Run(ctx, "true", host.RunOpts{Sudo: true}); err != nil {
		t.Errorf("sudo: %v", err)
	}
	vm, _ := sim.VMByName("swarm-manager")
	if len(vm.Snapshots) != 1 || vm.Snapshots[0] != "collabstack-ready" {
		t.Errorf("snapshots %v", vm.Snapshots)
	}
	// A second run, from a fresh inventory: nothing to do, the host is
	// registered again by the boot step's check.
	te2 := newEnv(t, s, sshDialer(t, s))
	again := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	applied, err := te2.run(t, again.Steps("pve"), ids...)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second run applied %v: %v", applied, err)
	}
	if _, ok := te2.inv.Spec("swarm-manager"); !ok {
		t.Error("the second run did not register swarm-manager")
	}

	// The VM is deleted (in the web interface) and made again by the
	// next run: a new host key, handed over through cloud-init, replaces
	// the old VM's pin before the first connection, which is verified.
	known := func() string {
		kh, err := ssh.Open(filepath.Join(s.StateDir, "known_hosts"))
		if err != nil {
			t.Fatal(err)
		}
		var fps []string
		for _, k := range kh.Lookup("swarm-manager", spec.Address+":22") {
			fps = append(fps, gossh.FingerprintSHA256(k))
		}
		return strings.Join(fps, " ")
	}
	oldPin := known()
	if oldPin == "" || oldPin != HostKeyFingerprint(s.StateDir, "swarm-manager") {
		t.Fatalf("pinned %q, issued %q", oldPin, HostKeyFingerprint(s.StateDir, "swarm-manager"))
	}
	te2.inv.Close()
	if err := sim.DeleteVM(ctx, "swarm-manager"); err != nil {
		t.Fatal(err)
	}
	if err := l.Remove(ctx, vm); err != nil {
		t.Fatal(err)
	}
	te3 := newEnv(t, s, sshDialer(t, s))
	remade := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim), BootTimeout: 3 * time.Minute})
	applied, err = te3.run(t, remade.Steps("pve"), ids...)
	if err != nil {
		t.Fatalf("re-creating the VM: %v\n%s", err, te3.logs)
	}
	if !slices.Contains(applied, CreateID("swarm-manager")) {
		t.Errorf("re-run applied %v, want the create step", applied)
	}
	newPin := known()
	if newPin == oldPin || newPin != HostKeyFingerprint(s.StateDir, "swarm-manager") {
		t.Errorf("after re-creating: pinned %q (before %q), issued %q", newPin, oldPin, HostKeyFingerprint(s.StateDir, "swarm-manager"))
	}
}
