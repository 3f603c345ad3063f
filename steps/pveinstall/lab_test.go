package pveinstall_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/labtest"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/pveinstall"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

// labRevertAfter is the revert timer in the lab (the default is minutes).
const labRevertAfter = 20 * time.Second

// TestInstallOnLabNode runs the install on a bare lab node (Debian 12 that
// boots with systemd, reached over the real SSH transport) with the
// Proxmox VE repository replaced by a signed stub served from this
// machine: first the preflight refusing what the host cannot give, then a
// real reboot (the node's container reboots and comes back) that does not
// bring the Proxmox kernel, then a bridge change that cuts collabstack off and is reverted by the host's
// timer, then the install twice (the second run changes nothing), then a
// wait past the revert time to show the confirmed bridge stays.
func TestInstallOnLabNode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab node and installs packages (about two minutes)")
	}
	needTools(t)
	l := labtest.Start(t, 1, lab.ImageBase)
	node := l.Nodes[0]
	// A bound, not a speed target: on a busy machine apt alone has taken
	// ten minutes here.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	root := l.Dial(t, 0)
	sh := func(cmd string) string {
		t.Helper()
		out, err := root.Run(ctx, cmd, host.RunOpts{})
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return strings.TrimSpace(out)
	}

	// The stub repository, served on the lab network's gateway.
	gw, err := exec.CommandContext(ctx, "docker", "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}", l.Options.Network).Output()
	if err != nil || strings.TrimSpace(string(gw)) == "" {
		t.Fatalf("the lab network's gateway: %q, %v", gw, err)
	}
	kernel := sh("uname -r")
	repo := buildStubRepo(t, kernel, "http://"+strings.TrimSpace(string(gw))+":9/enterprise")
	base := repo.serve(t, strings.TrimSpace(string(gw)))
	opts := pveinstall.Options{
		RepoURL: base + "/pve", KeyURL: base + "/proxmox-release-bookworm.gpg", KeySHA512: repo.keySHA512,
		RevertAfter: labRevertAfter, AllowNoVirtualization: true,
	}

	// Make the node look like a Debian 12 server: its address in
	// /etc/network/interfaces (static, as the installer writes it),
	// ifupdown2 having brought it up, the Debian kernel and os-prober.
	addr := sh("ip -4 -o addr show dev eth0 scope global | awk '{print $4; exit}'")
	gateway := sh("ip -4 route show default | awk '{print $3; exit}'")
	before := fmt.Sprintf("auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n\taddress %s\n\tgateway %s\n\nsource /etc/network/interfaces.d/*\n", addr, gateway)
	if err := root.Upload(ctx, "/etc/network/interfaces", []byte(before), 0o644, ""); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"linux-image-6.1.0-99-amd64", "linux-image-amd64"} {
		data, err := os.ReadFile(repo.debs[name])
		if err != nil {
			t.Fatal(err)
		}
		if err := root.Upload(ctx, "/tmp/"+name+".deb", data, 0o644, ""); err != nil {
			t.Fatal(err)
		}
	}
	sh("dpkg -i /tmp/linux-image-6.1.0-99-amd64.deb /tmp/linux-image-amd64.deb")
	sh("apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ifupdown2 os-prober >/dev/null && mkdir -p /run/network && ifreload -a 2>/dev/null")

	s := &site.Site{Version: 1, Topology: site.TopologySingle, Domain: "lab.test", AdminEmail: "a@lab.test",
		Hosts:   []site.Host{{Name: node.Name, Address: node.Address, Role: site.RolePVEServer}},
		Proxmox: &site.Proxmox{VMs: []site.VM{{Name: "vm1", On: node.Name, Kind: site.VMDebian, Cores: 1, MemoryMB: 1024, DiskGB: 4}}}}
	s.ApplyDefaults()

	inv := func() *engine.Inventory { return engine.NewInventory(ssh.Dialer(nil, nil), l.Spec(0)) }
	runPlan := func(name string, steps ...engine.Step) (engine.Summary, map[string]bool, error) {
		t.Helper()
		hosts := inv()
		defer hosts.Close()
		plan := engine.NewPlan()
		plan.MustAdd(steps...)
		changed := map[string]bool{}
		start := time.Now()
		sum, err := (&engine.Runner{Plan: plan, Hosts: hosts, Emit: func(e engine.Event) {
			switch {
			case e.Line != "":
				t.Logf("%s: %s", e.Step, e.Line)
			case e.Kind == engine.StepDone:
				changed[e.Step] = e.Changed
				t.Logf("%s: done (changed %v) in %s", e.Step, e.Changed, e.Elapsed.Round(time.Millisecond))
			case e.Kind == engine.StepFailed:
				t.Logf("%s: failed: %s (hint: %s)", e.Step, e.Err, e.Hint)
			}
		}}).Run(ctx)
		t.Logf("%s run: %+v in %s", name, sum, time.Since(start).Round(time.Second))
		return sum, changed, err
	}

	t.Run("preflight says what to do", func(t *testing.T) {
		big := *s
		big.Proxmox = &site.Proxmox{VMs: []site.VM{{Name: "huge", On: node.Name, Kind: site.VMDebian, MemoryMB: 64 << 20, DiskGB: 1 << 20}}}
		steps := pveinstall.StepsWith(&big, node.Name, pveinstall.Options{})
		_, _, err := runPlan("preflight", steps[0])
		if err == nil {
			t.Fatal("a plan needing 64 TB of RAM passed the preflight")
		}
		msg := err.Error() + " " + engine.HintOf(err)
		for _, want := range []string{"MB of RAM", "memory_mb", "GB free for VM disks", "disk_gb", "hardware virtualization", "BIOS"} {
			if !strings.Contains(msg, want) {
				t.Errorf("preflight error lacks %q: %s", want, msg)
			}
		}
	})

	t.Run("a real reboot that does not bring the Proxmox kernel fails with a hint", func(t *testing.T) {
		// The node runs the machine's kernel, whose image no Proxmox
		// kernel package owns (the stub kernel is not installed yet), so
		// the step reboots for real: systemctl reboot over collabstack's
		// connection makes the container's systemd exit, and docker's
		// restart policy boots it again, as a machine's firmware would.
		// collabstack waits for the connection to drop, dials again
		// (the host key pinned before must match), checks that this is
		// another boot and reads the running kernel again. A container
		// cannot show what a machine's reboot does besides: a new kernel
		// (this one is the machine's, so it comes back with the same
		// one and the step fails as on a host whose GRUB kept the Debian
		// kernel), GRUB, the firmware, a changed boot id of the kernel.
		if out, err := exec.CommandContext(ctx, "docker", "update", "--restart", "always", node.Container).CombinedOutput(); err != nil {
			t.Fatalf("give the node a restart policy: %v %s", err, out)
		}
		started := func() string {
			out, err := exec.CommandContext(ctx, "docker", "inspect", "--format", "{{.State.StartedAt}} {{.RestartCount}}", node.Container).Output()
			if err != nil {
				t.Fatalf("docker inspect %s: %v", node.Container, err)
			}
			return strings.TrimSpace(string(out))
		}
		before := started()
		known, err := ssh.Open(filepath.Join(t.TempDir(), "known_hosts"))
		if err != nil {
			t.Fatal(err)
		}
		hosts := engine.NewInventory(ssh.Dialer(known, nil), l.Spec(0))
		defer hosts.Close()
		plan := engine.NewPlan()
		st := pveinstall.StepsWith(s, node.Name, opts)[3]
		plan.MustAdd(&engine.Func{StepID: st.ID(), Name: st.Title(), On: st.HostName(), CheckFunc: st.Check, ApplyFunc: st.Apply})
		rebooted, hint := false, ""
		_, err = (&engine.Runner{Plan: plan, Hosts: hosts, Emit: func(e engine.Event) {
			if e.Line != "" {
				t.Logf("%s: %s", e.Step, e.Line)
				rebooted = rebooted || strings.Contains(e.Line, "rebooting")
			}
			if e.Kind == engine.StepFailed {
				hint = e.Hint
			}
		}}).Run(ctx)
		after := started()
		t.Logf("the node's container: started %s before, %s after", before, after)
		if !rebooted || err == nil || !strings.Contains(err.Error(), "came back with the kernel") || !strings.Contains(hint, "GRUB") {
			t.Fatalf("rebooted %v, err = %v (hint %q)", rebooted, err, hint)
		}
		if after == before {
			t.Errorf("the node's container did not start again (%s)", after)
		}
		if out, err := exec.CommandContext(ctx, "docker", "update", "--restart", "no", node.Container).CombinedOutput(); err != nil {
			t.Errorf("take the restart policy off again: %v %s", err, out)
		}
		// The reboot emptied /run; the node answers again.
		sh("mkdir -p /run/network && systemctl is-system-running --wait || true")
	})

	t.Run("an unconfirmed bridge is reverted", func(t *testing.T) {
		// A bridge with an address nobody dials: collabstack loses the
		// host, the host's timer puts the previous file back.
		p := netip.MustParsePrefix(addr)
		wrong := p.Addr()
		for i := 0; i < 100; i++ {
			wrong = wrong.Next()
		}
		f := pveinstall.ParseNetFacts(fmt.Sprintf("NIC=eth0\nGATEWAY=%s\nADDRESS=%s/%d\nMETHOD=static\n", gateway, wrong, p.Bits()))
		content, err := pveinstall.Interfaces(node.Name, "vmbr0", f)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ssh.Dial(ctx, l.Spec(0), ssh.Options{KeepAlive: 2 * time.Second, ConnectTimeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		env := &engine.Env{Host: h, Out: func(line string) { t.Logf("bridge: %s", line) }}
		change := pveinstall.NetChange{Bridge: "vmbr0", Interfaces: content, Address: fmt.Sprintf("%s/%d", wrong, p.Bits()), RevertAfter: labRevertAfter, AfterRevert: time.Minute}
		err = change.Apply(ctx, env)
		if err == nil || !strings.Contains(err.Error(), "put its previous configuration back") {
			t.Fatalf("want the change reverted, got %v", err)
		}
		t.Logf("reported: %v (hint: %s)", err, engine.HintOf(err))
		if got := sh("cat /etc/network/interfaces"); got != strings.TrimSpace(before) {
			t.Errorf("after the revert /etc/network/interfaces is\n%s", got)
		}
		if got := sh("ip -4 -o addr show dev eth0 | awk '{print $4}'"); got != addr {
			t.Errorf("after the revert eth0 has %q, want %s", got, addr)
		}
		if out := sh("ip link show vmbr0 2>&1 || true"); !strings.Contains(out, "does not exist") {
			t.Errorf("vmbr0 outlived the revert: %s", out)
		}
		if out := sh("ls /etc/systemd/system " + pveinstall.NetStateDir + " | grep -E '^(armed|interfaces.before|collabstack-netrevert)' || true"); out != "" {
			t.Errorf("the revert left its timer or state: %s", out)
		}
		if out := sh("cat " + pveinstall.NetStateDir + "/reverted"); !strings.Contains(out, "did not confirm") {
			t.Errorf("the host's record of the revert: %q", out)
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	steps := pveinstall.StepsWith(s, node.Name, opts)
	sum, changed, err := runPlan("first", steps...)
	if err != nil {
		t.Fatalf("first run: %v (hint: %s)", err, engine.HintOf(err))
	}
	confirmed := time.Now()
	for _, what := range []string{"repo", "kernel", "packages", "cleanup", "bridge"} {
		if !changed[pveinstall.ID(what, node.Name)] {
			t.Errorf("first run did not change %s", pveinstall.ID(what, node.Name))
		}
	}
	// In a container the running kernel is the machine's: the stub kernel
	// package carries its release, so the reboot step finds it running.
	for _, what := range []string{"preflight", "reboot"} {
		if changed[pveinstall.ID(what, node.Name)] {
			t.Errorf("first run changed %s", pveinstall.ID(what, node.Name))
		}
	}
	if sum.Changed != 5 {
		t.Errorf("first run changed %d steps, want 5", sum.Changed)
	}
	sum, _, err = runPlan("second", pveinstall.StepsWith(s, node.Name, opts)...)
	if err != nil || sum.Changed != 0 || sum.Unchanged != 7 {
		t.Errorf("second run: %+v, %v; want nothing changed", sum, err)
	}

	// As a person would look at the host.
	for cmd, want := range map[string]string{
		"pveversion": "pve-manager/8.4.1/stub",
		"cat /etc/apt/sources.list.d/pve-install-repo.list":                                           "deb [arch=amd64] " + opts.RepoURL + " bookworm pve-no-subscription",
		"sha512sum /etc/apt/trusted.gpg.d/proxmox-release-bookworm.gpg":                               repo.keySHA512,
		"cat /etc/apt/sources.list.d/pve-enterprise.list":                                             "# deb ",
		"dpkg-query -W -f='${Status}\\n' proxmox-ve postfix open-iscsi chrony":                        "install ok installed\ninstall ok installed\ninstall ok installed\ninstall ok installed",
		"dpkg -l linux-image-amd64 linux-image-6.1.0-99-amd64 os-prober 2>&1 | grep -c '^ii' || true": "0",
		"debconf-show postfix | grep main_mailer_type":                                                "Local only",
		"grep -A3 'iface vmbr0' /etc/network/interfaces":                                              "address " + addr,
		"grep 'bridge-ports' /etc/network/interfaces":                                                 "bridge-ports eth0",
		"ip -4 -o addr show dev vmbr0":                                                                "inet " + addr,
		"ip -4 route show default":                                                                    "dev vmbr0",
		"ip -o link show eth0":                                                                        "master vmbr0",
		"cat /etc/network/interfaces.pre-collabstack":                                                 "iface eth0 inet static",
	} {
		if got := sh(cmd); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", cmd, got, want)
		}
	}

	// The confirmation disarmed the timer: past its time nothing reverts.
	time.Sleep(time.Until(confirmed.Add(labRevertAfter + 5*time.Second)))
	if got := sh("ls " + pveinstall.NetStateDir + " /etc/systemd/system | grep -E '^(armed|reverted|interfaces.before|collabstack-netrevert)' || true"); got != "" {
		t.Errorf("left after the confirmation: %s", got)
	}
	if got := sh("systemctl list-timers --all --no-legend | grep collabstack || true"); got != "" {
		t.Errorf("a revert timer is still loaded: %s", got)
	}
	if got := sh("ip -4 -o addr show dev vmbr0"); !strings.Contains(got, "inet "+addr) {
		t.Errorf("past the revert time vmbr0 has %q", got)
	}
}
