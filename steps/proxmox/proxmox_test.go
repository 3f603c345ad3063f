package proxmox

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	px "github.com/luthermonson/go-proxmox"
	"go.yaml.in/yaml/v3"
	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/internal/pvesim"
	"github.com/collabstack/collabstack/steps/network"
	"github.com/collabstack/collabstack/steps/site"
)

func connect(t *testing.T, sim *pvesim.Server, secret string, pins *Pins) *API {
	t.Helper()
	a, err := Connect(Config{Host: "pve", URL: sim.URL, TokenID: TokenID, Secret: secret, Pins: pins})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestEveryCallCarriesTheAPITokenHeader(t *testing.T) {
	sim, secret := startSim(t, pvesim.Options{Version: "8.4.1"}, Privileges...)
	a := connect(t, sim, secret, nil)
	v, err := a.Version(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != "8.4.1" || v.Release != "8.4" {
		t.Errorf("version %+v", v)
	}
	reqs := sim.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the simulator")
	}
	want := "PVEAPIToken=collabstack@pve!collabstack=" + secret
	for _, r := range reqs {
		if r.Authorization != want {
			t.Errorf("%s %s sent Authorization %q, want %q", r.Method, r.Path, r.Authorization, want)
		}
	}
}

func TestAWrongTokenIsRefusedWithAHint(t *testing.T) {
	sim, _ := startSim(t, pvesim.Options{}, Privileges...)
	a := connect(t, sim, uuid(t), nil)
	_, err := a.Version(context.Background())
	if err == nil {
		t.Fatal("a wrong secret was accepted")
	}
	if !px.IsNotAuthorized(err) || !strings.Contains(err.Error(), "401") {
		t.Errorf("error %v: want 401 and go-proxmox's ErrNotAuthorized in the chain", err)
	}
	if h := engine.HintOf(err); !strings.Contains(h, "token step") {
		t.Errorf("hint %q does not say what to do", h)
	}
}

func TestTheCertificateIsPinnedOnFirstUseAndAChangeStops(t *testing.T) {
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	path := filepath.Join(t.TempDir(), "proxmox", "tls_fingerprints")
	pins, err := OpenPins(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := connect(t, sim, secret, pins).Version(ctx); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "pve "+sim.Addr()+" "+sim.Fingerprint()) {
		t.Errorf("pins file lacks the node's fingerprint %s:\n%s", sim.Fingerprint(), data)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("pins file mode %v, want 0600", st.Mode().Perm())
	}
	// Still the same certificate: a new client from the file trusts it.
	reopened, err := OpenPins(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, sim, secret, reopened).Version(ctx); err != nil {
		t.Fatalf("the pinned certificate was refused: %v", err)
	}

	if err := sim.RotateCertificate(); err != nil {
		t.Fatal(err)
	}
	before := len(sim.Requests())
	_, err = connect(t, sim, secret, reopened).Version(ctx)
	var mismatch *CertMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("a changed certificate gave %v, want CertMismatchError", err)
	}
	if mismatch.Got != sim.Fingerprint() || mismatch.File != path {
		t.Errorf("mismatch %+v", mismatch)
	}
	if !strings.Contains(err.Error(), "remove the line") || engine.HintOf(err) == "" {
		t.Errorf("error %q (hint %q) does not say what to do", err, engine.HintOf(err))
	}
	if after := len(sim.Requests()); after != before {
		t.Errorf("%d requests reached the API after the certificate changed: the token was sent", after-before)
	}
}

func TestACertificateLearntOverSSHIsPinnedBeforeTheFirstCall(t *testing.T) {
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	ctx := context.Background()
	good, _ := OpenPins("")
	if err := good.Expect("pve", sim.Addr(), strings.ToLower(sim.Fingerprint())); err != nil {
		t.Fatal(err)
	}
	if _, err := connect(t, sim, secret, good).Version(ctx); err != nil {
		t.Errorf("the expected certificate was refused: %v", err)
	}
	if err := good.Expect("pve", sim.Addr(), strings.Repeat("AB:", 31)+"AB"); err == nil {
		t.Error("Expect replaced a pin")
	}
	// What the node's files say differs from what answers on the network.
	other, _ := OpenPins("")
	if err := other.Expect("pve", sim.Addr(), strings.Repeat("AB:", 31)+"AB"); err != nil {
		t.Fatal(err)
	}
	before := len(sim.Requests())
	var mismatch *CertMismatchError
	if _, err := connect(t, sim, secret, other).Version(ctx); !errors.As(err, &mismatch) {
		t.Errorf("a certificate other than the node's gave %v", err)
	}
	if len(sim.Requests()) != before {
		t.Error("the token was sent to an API with the wrong certificate")
	}
}

// createAll runs the create and start steps of every VM of s.
func createAll(t *testing.T, te *testEnv, steps []engine.Step, s *site.Site) []string {
	t.Helper()
	ids := append([]string{BudgetID("pve")}, vmIDs(s, "create", "start")...)
	applied, err := te.run(t, steps, ids...)
	if err != nil {
		t.Fatalf("%v\n%s", err, te.logs)
	}
	return applied
}

func TestVMsAreCreatedOnceAndFoundAgainByNameAndTag(t *testing.T) {
	s := singleSite(t, "10.231.7.0/24")
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	addOpenWrtDisks(sim, s)
	te := newEnv(t, s, nil)
	te.sec.Set(TokenSecret("pve"), secret)
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	steps := set.Steps("pve")

	applied := createAll(t, te, steps, s)
	if len(applied) != 2*len(s.Proxmox.VMs) {
		t.Errorf("first run applied %v", applied)
	}
	vms := sim.VMs()
	if len(vms) != 5 {
		t.Fatalf("%d VMs, want 5", len(vms))
	}
	key, err := os.ReadFile(KeyPath(s.StateDir) + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range s.Proxmox.VMs {
		vm, ok := sim.VMByName(want.Name)
		if !ok {
			t.Errorf("VM %s missing", want.Name)
			continue
		}
		c := vm.Config
		if vm.Status != "running" || c["tags"] != Tag || c["cores"] == "" || c["memory"] == "" {
			t.Errorf("%s: status %s, config %v", want.Name, vm.Status, c)
		}
		if c["memory"] != strings.TrimSpace(strings.Split(c["memory"], ",")[0]) || c["onboot"] != "1" {
			t.Errorf("%s: memory %q onboot %q", want.Name, c["memory"], c["onboot"])
		}
		if !strings.Contains(c["scsi0"], "local-lvm:vm-") || !strings.Contains(c["scsi0"], "size=") {
			t.Errorf("%s: scsi0 %q", want.Name, c["scsi0"])
		}
		// The NIC on the LAN has the MAC the routers' DHCP knows.
		lan := -1
		for i, b := range want.Bridges {
			if b == s.Network.LANBridge {
				lan = i
			}
		}
		if lan < 0 || !strings.Contains(c["net"+string(rune('0'+lan))], network.VMMAC(s, want.Name)+",bridge="+s.Network.LANBridge) {
			t.Errorf("%s: LAN NIC %q, want MAC %s", want.Name, c["net"+string(rune('0'+lan))], network.VMMAC(s, want.Name))
		}
		if want.Kind == site.VMOpenWrt {
			if _, err := vm.CloudInit(); err == nil {
				t.Errorf("%s: OpenWrt VM has a cloud-init drive", want.Name)
			}
			continue
		}
		ci, err := vm.CloudInit()
		if err != nil {
			t.Errorf("%s: %v", want.Name, err)
			continue
		}
		if ci.User != site.DefaultAdminUser || len(ci.Keys) != 1 || ci.Keys[0] != strings.TrimSpace(string(key)) {
			t.Errorf("%s: cloud-init user %q keys %q, want %s and the VM key", want.Name, ci.User, ci.Keys, site.DefaultAdminUser)
		}
		// The user data carries the host key collabstack made and keeps.
		signer, err := gossh.ParsePrivateKey([]byte(ci.HostKeys["ed25519_private"]))
		if err != nil || !ci.DeleteKeys || HostKeyFingerprint(s.StateDir, want.Name) == "" ||
			gossh.FingerprintSHA256(signer.PublicKey()) != HostKeyFingerprint(s.StateDir, want.Name) ||
			!strings.HasPrefix(ci.HostKeys["ed25519_public"], "ssh-ed25519 ") {
			t.Errorf("%s: host keys in the user data %v (%v), delete %v, kept %q", want.Name, ci.HostKeys, err, ci.DeleteKeys, HostKeyFingerprint(s.StateDir, want.Name))
		}
		if fi, err := os.Stat(HostKeyPath(s.StateDir, want.Name)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: kept host key %v %v", want.Name, fi, err)
		}
		if len(ci.Interfaces) != 1 || ci.Interfaces[0].Address.String() != want.Address || ci.Interfaces[0].Gateway != s.Network.Gateway {
			t.Errorf("%s: interfaces %+v, want %s via %s", want.Name, ci.Interfaces, want.Address, s.Network.Gateway)
		}
		if c["agent"] != "enabled=1" || c["cicustom"] != "user=local:snippets/"+UserDataSnippet(want.Name)+",vendor=local:snippets/"+VendorSnippet {
			t.Errorf("%s: agent %q cicustom %q", want.Name, c["agent"], c["cicustom"])
		}
		if sz := diskSize(c["scsi0"]); sz != int64(want.DiskGB)<<30 {
			t.Errorf("%s: disk %d bytes, want %d GiB", want.Name, sz, want.DiskGB)
		}
	}

	creates := countRequests(sim, "POST", "/api2/json/nodes/pve/qemu")
	// A second run, with a fresh set (a new process), changes nothing.
	again := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	if applied := createAll(t, te, again.Steps("pve"), s); len(applied) != 0 {
		t.Errorf("second run applied %v", applied)
	}
	if n := countRequests(sim, "POST", "/api2/json/nodes/pve/qemu"); n != creates {
		t.Errorf("second run sent %d more create requests", n-creates)
	}
	if len(sim.VMs()) != 5 {
		t.Errorf("%d VMs after the second run", len(sim.VMs()))
	}
}

func TestAVMOfTheSameNameWithoutTheTagIsLeftAlone(t *testing.T) {
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	a := connect(t, sim, secret, nil)
	ctx := context.Background()
	node := new(px.Node).New(a.Client(), sim.Node())
	task, err := node.NewVirtualMachine(ctx, 300, px.VirtualMachineOption{Name: "name", Value: "swarm-manager"}, px.VirtualMachineOption{Name: "memory", Value: "512"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.wait(ctx, task, "create"); err != nil {
		t.Fatal(err)
	}
	_, err = a.FindVM(ctx, "swarm-manager")
	if err == nil || !strings.Contains(err.Error(), "without the tag") || !strings.Contains(engine.HintOf(err), "--tags collabstack") {
		t.Fatalf("an untagged namesake gave %v (hint %q)", err, engine.HintOf(err))
	}
	if ref, err := a.FindVM(ctx, "swarm-worker"); ref != nil || err != nil {
		t.Errorf("FindVM of a missing VM: %v %v", ref, err)
	}
}

func TestSnapshotAndRollbackKeepDataDisks(t *testing.T) {
	s := singleSite(t, "10.231.8.0/24")
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	addOpenWrtDisks(sim, s)
	te := newEnv(t, s, nil)
	te.sec.Set(TokenSecret("pve"), secret)
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	steps := append(set.Steps("pve"), set.SnapshotStep("swarm-worker", "before prepare"))
	createAll(t, te, steps, s)

	// The snapshot step (its ready dependency is SSH, not run here).
	applied, err := te.run(t, steps, SnapshotID("swarm-worker", "before prepare"), SnapshotID("swarm-worker", "before prepare"))
	if err != nil || len(applied) != 1 {
		t.Fatalf("snapshot: applied %v, %v", applied, err)
	}
	vm, _ := sim.VMByName("swarm-worker")
	if !slices.Contains(vm.Snapshots, "collabstack-before-prepare") {
		t.Fatalf("snapshots %v", vm.Snapshots)
	}
	// Later someone adds a data disk; then a risky step breaks the VM.
	if err := sim.AttachDisk(vm.ID, "scsi1", "local-lvm:vm-"+itoa(vm.ID)+"-disk-9", 50<<30); err != nil {
		t.Fatal(err)
	}
	var lines []string
	got, err := set.Rollback(context.Background(), te.sec, "swarm-worker", func(f string, a ...any) { lines = append(lines, f) })
	if err != nil {
		t.Fatal(err)
	}
	if got != "collabstack-before-prepare" {
		t.Errorf("rolled back to %q", got)
	}
	vm, _ = sim.VMByName("swarm-worker")
	if vm.Status != "running" {
		t.Errorf("the VM was running and is %s after the rollback", vm.Status)
	}
	if vm.Config["unused0"] != "local-lvm:vm-"+itoa(vm.ID)+"-disk-9" || !sim.HasVolume("local-lvm:vm-"+itoa(vm.ID)+"-disk-9") {
		t.Errorf("the data disk is gone: config %v", vm.Config)
	}
	if len(vm.Snapshots) != 1 {
		t.Errorf("snapshots after rollback %v", vm.Snapshots)
	}
	for _, r := range sim.Requests() {
		if r.Method == "DELETE" {
			t.Errorf("rollback deleted something: %s %s", r.Method, r.Path)
		}
	}
	// No snapshot: a clear error.
	if _, err := set.Rollback(context.Background(), te.sec, "swarm-manager", nil); err == nil || engine.HintOf(err) == "" {
		t.Errorf("rollback without a snapshot: %v", err)
	}
	if _, err := set.Rollback(context.Background(), te.sec, "nonesuch", nil); err == nil {
		t.Error("rollback of an unknown VM worked")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestTheRoleHoldsExactlyThePrivilegesUsed(t *testing.T) {
	s := singleSite(t, "10.231.9.0/24")
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	addOpenWrtDisks(sim, s)
	te := newEnv(t, s, nil)
	te.sec.Set(TokenSecret("pve"), secret)
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	steps := append(set.Steps("pve"), set.SnapshotStep("swarm-manager", "x"))
	createAll(t, te, steps, s)
	if _, err := te.run(t, steps, SnapshotID("swarm-manager", "x")); err != nil {
		t.Fatal(err)
	}
	if _, err := set.Rollback(context.Background(), te.sec, "swarm-manager", nil); err != nil {
		t.Fatal(err)
	}
	want := append([]string(nil), Privileges...)
	sort.Strings(want)
	if got := sim.UsedPrivileges(); !slices.Equal(got, want) {
		t.Errorf("privileges used %v\nrole holds     %v", got, want)
	}
}

func TestEachPrivilegeIsNeeded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the VM steps once per privilege")
	}
	for _, missing := range Privileges {
		t.Run(missing, func(t *testing.T) {
			var privs []string
			for _, p := range Privileges {
				if p != missing {
					privs = append(privs, p)
				}
			}
			s := singleSite(t, "10.231.10.0/24")
			sim, secret := startSim(t, pvesim.Options{}, privs...)
			addOpenWrtDisks(sim, s)
			te := newEnv(t, s, nil)
			te.sec.Set(TokenSecret("pve"), secret)
			set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
			steps := append(set.Steps("pve"), set.SnapshotStep("swarm-manager", "x"))
			ids := append([]string{BudgetID("pve")}, vmIDs(s, "create", "start")...)
			_, err := te.run(t, steps, append(ids, SnapshotID("swarm-manager", "x"))...)
			if err == nil {
				_, err = set.Rollback(context.Background(), te.sec, "swarm-manager", nil)
			}
			if missing == "Sys.Audit" {
				// go-proxmox reads the node without failing; the budget
				// then says it could not check.
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(te.logs.String(), "not checked") {
					t.Errorf("without Sys.Audit the budget was checked anyway:\n%s", te.logs)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), missing) {
				t.Fatalf("without %s: %v", missing, err)
			}
			if !strings.Contains(engine.HintOf(err), RoleID) {
				t.Errorf("hint %q", engine.HintOf(err))
			}
		})
	}
}

func TestAFailedTaskReportsItsLog(t *testing.T) {
	s := singleSite(t, "10.231.11.0/24")
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	// No OpenWrt disks in storage: the import fails in the create task.
	te := newEnv(t, s, nil)
	te.sec.Set(TokenSecret("pve"), secret)
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	_, err := te.run(t, set.Steps("pve"), CreateID("outer-openwrt"))
	if err == nil || !strings.Contains(err.Error(), "task failed") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(engine.HintOf(err), "pvenode task log") {
		t.Errorf("hint %q", engine.HintOf(err))
	}
	if _, ok := sim.VMByName("outer-openwrt"); ok {
		t.Error("a failed create left a VM behind")
	}
}

func TestTheBudgetStopsVMsThatDoNotFit(t *testing.T) {
	s := singleSite(t, "10.231.12.0/24")
	sim, secret := startSim(t, pvesim.Options{MemoryMiB: 16384, CPUs: 8}, Privileges...)
	te := newEnv(t, s, nil)
	te.sec.Set(TokenSecret("pve"), secret)
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	_, err := te.run(t, set.Steps("pve"), BudgetID("pve"))
	if err == nil || !strings.Contains(err.Error(), "16384 MB") || !strings.Contains(engine.HintOf(err), "memory_mb") {
		t.Fatalf("budget: %v (hint %q)", err, engine.HintOf(err))
	}
	if len(sim.VMs()) != 0 {
		t.Error("VMs were made")
	}
}

func TestWithoutATokenTheStepsSayHowToGetOne(t *testing.T) {
	s := singleSite(t, "10.231.13.0/24")
	sim, _ := startSim(t, pvesim.Options{}, Privileges...)
	te := newEnv(t, s, nil)
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	_, err := te.run(t, set.Steps("pve"), BudgetID("pve"))
	if err == nil || !strings.Contains(engine.HintOf(err), "secret set "+TokenSecret("pve")) {
		t.Fatalf("got %v (hint %q)", err, engine.HintOf(err))
	}
}

func TestPlanShape(t *testing.T) {
	s := singleSite(t, "10.10.0.0/24")
	p := engine.NewPlan()
	p.MustAdd(&engine.Func{StepID: "pve/bridge/pve"})
	if err := p.Add(Steps(s, s.StateDir, "pve", "pve/bridge/pve")...); err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	order := p.Order()
	pos := map[string]int{}
	for i, id := range order {
		pos[id] = i
	}
	for _, pair := range [][2]string{
		{TokenStepID("pve"), CreateID("swarm-manager")},
		{ImageID("pve", "debian"), CreateID("swarm-manager")},
		{VMStepID("outer-openwrt", "image"), CreateID("outer-openwrt")},
		{CreateID("swarm-manager"), VMStepID("swarm-manager", "start")},
		{VMStepID("swarm-manager", "boot"), ReadyID("swarm-manager")},
		{BridgesID("pve"), CreateID("vpn-openwrt")},
	} {
		a, ok1 := pos[pair[0]]
		b, ok2 := pos[pair[1]]
		if !ok1 || !ok2 || a > b {
			t.Errorf("%s should come before %s:\n%s", pair[0], pair[1], strings.Join(order, "\n"))
		}
	}
	if _, ok := pos[ImageID("pve", "openwrt")]; !ok {
		t.Error("no OpenWrt image step")
	}
}

func TestSiteHostsReachVMsThroughThePVEHostWhenNotRoutable(t *testing.T) {
	s := singleSite(t, "10.10.0.0/24")
	hosts := New(s, s.StateDir, Options{Routable: func(netip.Addr) bool { return false }}).SiteHosts()
	if len(hosts) != 5 {
		t.Fatalf("%d hosts", len(hosts))
	}
	for _, h := range hosts {
		if h.Jump != "pve" || h.Auth.KeyFile != KeyPath(s.StateDir) || h.Port != 22 {
			t.Errorf("%s: %+v", h.Name, h)
		}
		switch h.Name {
		case "swarm-manager":
			if h.Address != "10.10.0.11" || h.User != site.DefaultAdminUser || !*h.Sudo || h.Role != site.RoleManager || h.Labels[site.NodeLabel] != site.LabelInfra {
				t.Errorf("swarm-manager: %+v", h)
			}
		case "outer-openwrt":
			if h.User != "root" || *h.Sudo {
				t.Errorf("outer-openwrt: %+v", h)
			}
		}
	}
	direct := New(s, s.StateDir, Options{Routable: func(netip.Addr) bool { return true }}).SiteHosts()
	if direct[0].Jump != "" {
		t.Errorf("a routable VM goes through %q", direct[0].Jump)
	}
}

func TestTheHostGetsTheEndOfTheLAN(t *testing.T) {
	s := singleSite(t, "10.10.0.0/24")
	if got := New(s, s.StateDir, Options{}).lanAddress("pve"); got != "10.10.0.254/24" {
		t.Errorf("lanAddress = %q", got)
	}
}

func TestVMOptionsEncodeSSHKeysForPVE(t *testing.T) {
	sp := VMSpec{VM: Sized(site.VM{Name: "a", Kind: site.VMDebian, Address: "10.0.0.5/24", Bridges: []string{"vmbr1"}}),
		Storage: "local-lvm", Image: "local:import/x.qcow2", LANBridge: "vmbr1", MAC: "BC:24:11:00:00:01", Gateway: "10.0.0.1",
		CloudInit: &CloudInitSpec{User: "ubuntu", Key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOM collabstack+x"}}
	opts := map[string]any{}
	for _, o := range sp.Options() {
		opts[o.Name] = o.Value
	}
	if got := opts["sshkeys"]; got != "ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIOM%20collabstack%2Bx" {
		t.Errorf("sshkeys %q", got)
	}
	if opts["ipconfig0"] != "ip=10.0.0.5/24,gw=10.0.0.1" || opts["net0"] != "virtio=BC:24:11:00:00:01,bridge=vmbr1" {
		t.Errorf("ipconfig0 %q net0 %q", opts["ipconfig0"], opts["net0"])
	}
	if opts["scsi0"] != "local-lvm:0,import-from=local:import/x.qcow2,discard=on" || opts["ide2"] != "local-lvm:cloudinit" {
		t.Errorf("scsi0 %q ide2 %q", opts["scsi0"], opts["ide2"])
	}
}

func TestTokenValueParsesPveumJSON(t *testing.T) {
	out := "todo: create the API token collabstack@pve!collabstack\n" +
		`{"full-tokenid":"collabstack@pve!collabstack","info":{"privsep":"0","comment":"collabstack"},"value":"0b8c1d2e-aaaa-bbbb-cccc-1234567890ab"}` + "\n"
	if got := tokenValue(out); got != "0b8c1d2e-aaaa-bbbb-cccc-1234567890ab" {
		t.Errorf("tokenValue = %q", got)
	}
	if tokenValue("todo: nothing\n") != "" {
		t.Error("found a token in no JSON")
	}
}

func TestSnapshotNamesArePVEConfigIDs(t *testing.T) {
	for label, want := range map[string]string{
		"ready":                                 "collabstack-ready",
		"before UCI/apply":                      "collabstack-before-uci-apply",
		"a very long label that goes on and on": "collabstack-a-very-long-label-that-goes",
	} {
		if got := SnapshotName(label); got != want || len(got) > 40 {
			t.Errorf("SnapshotName(%q) = %q, want %q", label, got, want)
		}
	}
}

func TestBudget(t *testing.T) {
	vms := []site.VM{{Name: "a", MemoryMB: 4096, Cores: 4}, {Name: "b", MemoryMB: 2048, Cores: 2}}
	if err := Budget("pve", vms, 8192, 8, t.Logf); err != nil {
		t.Errorf("8 GB: %v", err)
	}
	if err := Budget("pve", vms, 8000, 8, t.Logf); err == nil {
		t.Error("8000 MB fit 8192 MB of VMs and host")
	}
	if err := Budget("pve", vms, 0, 2, t.Logf); err == nil || !strings.Contains(err.Error(), "4 cores") {
		t.Errorf("cores: %v", err)
	}
}

func TestPinnedImagesAreComplete(t *testing.T) {
	imgs, err := PinnedImages()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(imgs.Debian.URL, "/"+imgs.Debian.File) || !strings.HasSuffix(imgs.OpenWrt.URL, "/"+imgs.OpenWrt.File) {
		t.Errorf("file names do not match the URLs: %+v", imgs)
	}
	if !strings.HasSuffix(imgs.Debian.File, ".qcow2") {
		t.Errorf("the Debian image must be a .qcow2 to be an import volume: %s", imgs.Debian.File)
	}
}

// The user data keeps every value data: a hostile user name, key or host
// key reads back from the YAML exactly as given, adding no key of its own.
func TestUserDataKeepsHostileValuesData(t *testing.T) {
	hostile := "a'b\"c`id`$(id)${HOME};d\\e&f|g{h}#i\n'\" PWNED: yes\n- x\nssh_deletekeys: false"
	u := UserData{Hostname: "vm" + hostile, User: hostile, AuthorizedKey: hostile, HostKeyPrivate: hostile, HostKeyPublic: hostile}
	out, err := u.Render()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "#cloud-config\n") {
		t.Fatalf("user data does not start with #cloud-config:\n%s", out)
	}
	var got map[string]any
	if err := yaml.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	keys := slices.Sorted(maps.Keys(got))
	want := []string{"chpasswd", "hostname", "manage_etc_hosts", "ssh_authorized_keys", "ssh_deletekeys", "ssh_genkeytypes", "ssh_keys", "user", "users"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
	if got["user"] != hostile || got["hostname"] != "vm"+hostile || got["ssh_deletekeys"] != true {
		t.Errorf("user %q hostname %q deletekeys %v", got["user"], got["hostname"], got["ssh_deletekeys"])
	}
	if ak, _ := got["ssh_authorized_keys"].([]any); len(ak) != 1 || ak[0] != hostile {
		t.Errorf("ssh_authorized_keys %v", got["ssh_authorized_keys"])
	}
	hk, _ := got["ssh_keys"].(map[string]any)
	if len(hk) != 2 || hk["ed25519_private"] != hostile || hk["ed25519_public"] != hostile {
		t.Errorf("ssh_keys %v", hk)
	}
	if gk, _ := got["ssh_genkeytypes"].([]any); gk == nil || len(gk) != 0 {
		t.Errorf("ssh_genkeytypes %v, want an empty list", got["ssh_genkeytypes"])
	}
}
