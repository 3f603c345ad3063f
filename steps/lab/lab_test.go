package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

func TestFixedIP(t *testing.T) {
	ip, err := fixedIP("172.30.77.0/24", 1)
	if err != nil || ip != "172.30.77.11" {
		t.Fatalf("fixedIP = %q, %v; want 172.30.77.11", ip, err)
	}
	if ip, _ := fixedIP("", 1); ip != "" {
		t.Fatalf("no subnet gives %q, want none", ip)
	}
	if _, err := fixedIP("172.30.77.0/29", 3); err == nil {
		t.Fatal("a /29 cannot hold node 3 at .13")
	}
}

func TestRecipeHashFollowsTheRecipe(t *testing.T) {
	a, err := newRecipe("")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := newRecipe("")
	c, _ := newRecipe("http://mirror.example/debian")
	if a.baseTag != b.baseTag || a.dockerTag != b.dockerTag {
		t.Fatalf("the same recipe gave two tags: %s %s", a.baseTag, b.baseTag)
	}
	if a.baseTag == c.baseTag || a.dockerTag == c.dockerTag {
		t.Fatalf("another mirror must give another tag: %s", a.baseTag)
	}
	if !strings.Contains(a.rootfs, a.baseTag) || strings.Contains(a.rootfs, "HASH") {
		t.Fatalf("the script must import under its own tag %s", a.baseTag)
	}
	if !strings.Contains(a.rootfs, "--include=systemd,systemd-sysv,dbus,openssh-server,iproute2,ca-certificates,curl,sudo,python3 bookworm") {
		t.Fatalf("debootstrap line changed:\n%s", a.rootfs)
	}
}

func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck)")
	}
	r, err := newRecipe("")
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"rootfs.sh": r.rootfs, "docker.sh": r.bake} {
		cmd := exec.Command("shellcheck", "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}

func TestSiteFileLoads(t *testing.T) {
	dir := t.TempDir()
	nodes := []Node{{Name: "lab-1", Address: "172.30.77.11", Role: site.RoleManager, Labels: map[string]string{"role": "infra"}},
		{Name: "lab-2", Address: "172.30.77.12", Role: site.RoleWorker, Labels: map[string]string{"role": "common"}}}
	path := filepath.Join(dir, "lab.yaml")
	if err := WriteSite(path, nodes, Options{StateDir: filepath.Join(dir, "state")}, SiteOptions{Components: []string{}}); err != nil {
		t.Fatal(err)
	}
	s, err := site.Load(path, nil)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("the written site file does not load: %v\n%s", err, data)
	}
	if len(s.Hosts) != 2 || s.Hosts[0].Role != site.RoleManager || s.Hosts[1].Labels["role"] != "common" || s.Hosts[0].Auth.KeyFile != KeyPath(filepath.Join(dir, "state")) {
		t.Fatalf("hosts = %+v", s.Hosts)
	}
	if o := OptionsFor(s, dir); o.Nodes != 2 || len(Steps(s, dir)) != 6 {
		t.Fatalf("a written lab site file gives %d nodes", o.Nodes)
	}
	if err := WriteSite(path, nodes, Options{StateDir: dir}, SiteOptions{}); err == nil || engine.HintOf(err) == "" {
		t.Fatalf("overwriting must be refused with a hint, got %v", err)
	}
}

// needDocker skips the test when no dockerd answers here.
func needDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := connect(ctx, host.NewLocal("local"), nil); err != nil {
		t.Skipf("no dockerd answers on this machine (%v): %s", err, engine.HintOf(err))
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("debootstrap is not installed (apt-get install debootstrap)")
	}
}

func testOptions(t *testing.T, image string, nodes int) Options {
	return Options{
		Nodes:    nodes,
		Network:  fmt.Sprintf("cs-labtest-%d", os.Getpid()%100000),
		Image:    image,
		StateDir: t.TempDir(),
		Out:      func(line string) { t.Log(line) },
	}
}

// TestLabUpDown starts two nodes from the image with docker.io, reaches
// both over the real SSH transport with the lab key, checks systemd and
// the nested dockerd (overlay2, runs a container), re-runs the plan steps
// (nothing to do, but the nodes are registered) and removes the lab.
func TestLabUpDown(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	o := testOptions(t, ImageDocker, 2)
	o.Subnet = "10.213.77.0/24" // fixed addresses: .11, .12
	t.Cleanup(func() { Down(context.Background(), o, true) })

	start := time.Now()
	nodes, err := Up(ctx, o)
	if err != nil {
		t.Fatalf("lab up: %v (%s)", err, engine.HintOf(err))
	}
	t.Logf("lab up took %s", time.Since(start).Round(time.Second))
	if len(nodes) != 2 || nodes[0].Name != "lab-1" || nodes[0].Role != site.RoleManager || nodes[1].Role != site.RoleWorker || nodes[1].Address != "10.213.77.12" {
		t.Fatalf("nodes = %+v", nodes)
	}

	known, err := ssh.Open(filepath.Join(o.StateDir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		h, err := ssh.Dial(ctx, n.Spec(o.StateDir), ssh.Options{KnownHosts: known, Retry: 30 * time.Second})
		if err != nil {
			t.Fatalf("ssh to %s: %v", n.Name, err)
		}
		state, _ := h.Run(ctx, "systemctl is-system-running", host.RunOpts{})
		if s := strings.TrimSpace(state); s != "running" && s != "degraded" {
			t.Errorf("%s: systemctl is-system-running = %q", n.Name, s)
		}
		if name, _ := h.Run(ctx, "hostname", host.RunOpts{}); strings.TrimSpace(name) != n.Name {
			t.Errorf("%s: hostname = %q", n.Name, name)
		}
		driver, err := h.Run(ctx, "docker info --format '{{.Driver}}'", host.RunOpts{})
		if err != nil || strings.TrimSpace(driver) != "overlay2" {
			t.Errorf("%s: nested docker info: driver %q, %v", n.Name, driver, err)
		}
		// ldconfig is static: a one-file image proves the nested dockerd
		// runs containers, with no registry.
		out, err := h.Run(ctx, "tar -C / -c usr/sbin/ldconfig | docker import - lab-probe >/dev/null && docker run --rm lab-probe /usr/sbin/ldconfig --version", host.RunOpts{})
		if err != nil || !strings.Contains(out, "ldconfig") {
			t.Errorf("%s: nested docker run: %q, %v", n.Name, out, err)
		}
		h.Close()
	}

	// A second up changes nothing; the plan's checks all pass and
	// register the nodes.
	if again, err := Up(ctx, o); err != nil || again[1].Address != nodes[1].Address {
		t.Fatalf("second lab up: %+v, %v", again, err)
	}
	inv := engine.NewInventory(func(ctx context.Context, spec host.Spec, _ *engine.Inventory) (host.Host, error) {
		return host.NewLocal(spec.Name), nil
	}, host.Spec{Name: layout.LocalHost, Local: true})
	plan := engine.NewPlan()
	plan.MustAdd(stepsFor(o.withDefaults())...)
	sum, err := (&engine.Runner{Plan: plan, Hosts: inv}).Run(ctx)
	if err != nil || sum.Changed != 0 || sum.Unchanged != 6 {
		t.Fatalf("re-run of the lab steps: %+v, %v", sum, err)
	}
	for _, n := range nodes {
		if spec, ok := inv.Spec(n.Name); !ok || spec.Address != n.Address || spec.KeyFile != KeyPath(o.StateDir) {
			t.Errorf("%s registered as %+v, %v", n.Name, spec, ok)
		}
	}

	if err := Down(ctx, o, true); err != nil {
		t.Fatalf("lab down: %v", err)
	}
	if left, err := List(ctx, o); err != nil || len(left) != 0 {
		t.Fatalf("after lab down: %+v, %v", left, err)
	}
	d, _ := connect(ctx, host.NewLocal("local"), nil)
	if ok, _ := d.exists(ctx, "network", o.Network); ok {
		t.Errorf("network %s is left", o.Network)
	}
	if vols, _ := d.list(ctx, "volume", labelLab+"="+o.Network); len(vols) != 0 {
		t.Errorf("volumes left: %v", vols)
	}
}
