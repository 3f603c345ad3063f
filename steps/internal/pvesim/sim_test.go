package pvesim

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	px "github.com/luthermonson/go-proxmox"
)

const (
	tokenID = "collabstack@pve!collabstack"
	secret  = "0b8c1d2e-aaaa-bbbb-cccc-1234567890ab"
)

var allPrivs = []string{"Datastore.AllocateSpace", "SDN.Use", "Sys.Audit", "VM.Allocate", "VM.Audit", "VM.Config.CPU",
	"VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.PowerMgmt", "VM.Snapshot"}

func start(t *testing.T, o Options) *Server {
	t.Helper()
	s, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.AddToken(tokenID, secret, allPrivs...)
	s.AddVolume("local:import/debian.qcow2", 2<<30)
	return s
}

type reply struct {
	status string
	body   map[string]any
}

// raw sends one request by hand, as curl would.
func raw(t *testing.T, s *Server, method, path, ctype, body, auth string) reply {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	r := reply{status: res.Status}
	if err := json.Unmarshal(data, &r.body); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, data, err)
	}
	return r
}

const auth = "PVEAPIToken=" + tokenID + "=" + secret

func TestEnvelopeAndAuth(t *testing.T) {
	s := start(t, Options{Version: "8.4.1"})
	r := raw(t, s, "GET", "/version", "", "", auth)
	data, _ := r.body["data"].(map[string]any)
	if r.status != "200 OK" || data["version"] != "8.4.1" || data["release"] != "8.4" {
		t.Errorf("version: %s %v", r.status, r.body)
	}
	if r := raw(t, s, "GET", "/version", "", "", ""); r.status != "401 No ticket" || r.body["data"] != nil {
		t.Errorf("no token: %s %v", r.status, r.body)
	}
	if r := raw(t, s, "GET", "/version", "", "", "PVEAPIToken="+tokenID+"=wrong"); !strings.HasPrefix(r.status, "401 ") {
		t.Errorf("wrong secret: %s", r.status)
	}
	if r := raw(t, s, "GET", "/nodes/pve/lxc", "", "", auth); r.status != "501 Method 'GET /nodes/pve/lxc' not implemented" {
		t.Errorf("unknown path: %s", r.status)
	}
	if r := raw(t, s, "GET", "/nodes/other/qemu", "", "", auth); !strings.HasPrefix(r.status, "500 hostname lookup 'other' failed") {
		t.Errorf("unknown node: %s", r.status)
	}
}

func TestParametersAreCheckedAgainstTheSchema(t *testing.T) {
	s := start(t, Options{})
	errs := func(r reply) map[string]any {
		e, _ := r.body["errors"].(map[string]any)
		return e
	}
	r := raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 100, "nonsense": 1}`, auth)
	if r.status != "400 Parameter verification failed." || !strings.Contains(errs(r)["nonsense"].(string), "not defined in schema") {
		t.Errorf("unknown parameter: %s %v", r.status, r.body)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"name": "x"}`, auth)
	if !strings.Contains(errs(r)["vmid"].(string), "property is missing") {
		t.Errorf("missing vmid: %v", r.body)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 99}`, auth)
	if !strings.Contains(errs(r)["vmid"].(string), "minimum value of 100") {
		t.Errorf("vmid 99: %v", r.body)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 100, "net0": "virtio,bridge=vmbr1,colour=blue"}`, auth)
	if !strings.Contains(errs(r)["net0"].(string), "colour: property is not defined") {
		t.Errorf("net0 with an unknown key: %v", r.body)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 100, "sshkeys": "ssh-ed25519 AAAA x"}`, auth)
	if !strings.Contains(errs(r)["sshkeys"].(string), "invalid urlencoded string") {
		t.Errorf("sshkeys with spaces: %v", r.body)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 100, "sshkeys": "ssh-ed25519+AAAA+x"}`, auth)
	if !strings.Contains(errs(r)["sshkeys"].(string), "invalid urlencoded string") {
		t.Errorf("sshkeys with + for spaces: %v", r.body)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 100, "ipconfig0": "ip=10.0.0.5/24,gw=nothere"}`, auth)
	if !strings.Contains(errs(r)["ipconfig0"].(string), "gw") {
		t.Errorf("bad gateway: %v", r.body)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 100, "tags": "ok;not/ok"}`, auth)
	if !strings.Contains(errs(r)["tags"].(string), "invalid tag") {
		t.Errorf("bad tag: %v", r.body)
	}
}

func TestCreateWithAFormBodyRunsATask(t *testing.T) {
	s := start(t, Options{TaskPolls: 2})
	form := url.Values{"vmid": {"120"}, "name": {"web"}, "memory": {"1024"}, "cores": {"2"}, "tags": {"b;A,a"},
		"net0": {"virtio,bridge=vmbr1"}, "scsi0": {"local-lvm:0,import-from=local:import/debian.qcow2"}, "ide2": {"local-lvm:cloudinit"},
		"ipconfig0": {"ip=10.0.0.5/24,gw=10.0.0.1"}, "sshkeys": {"ssh-ed25519%20AAAAC3NzaC1lZDI1NTE5AAAAIMCBtRDB2TBGnDHKQWNMyrYZ6K4XnLpRcxmSMxtKj8Y5%20me"},
		"ciuser": {"ubuntu"}, "onboot": {"1"}}
	r := raw(t, s, "POST", "/nodes/pve/qemu", "application/x-www-form-urlencoded", form.Encode(), auth)
	upid, _ := r.body["data"].(string)
	if !regexp.MustCompile(`^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmcreate:120:collabstack@pve!collabstack:$`).MatchString(upid) {
		t.Fatalf("create: %s %v", r.status, r.body)
	}
	var states []string
	for i := 0; i < 100; i++ {
		st := raw(t, s, "GET", "/nodes/pve/tasks/"+upid+"/status", "", "", auth).body["data"].(map[string]any)
		states = append(states, st["status"].(string))
		if st["status"] == "stopped" {
			if st["exitstatus"] != "OK" {
				t.Fatalf("task ended %v", st)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(states) < 3 || states[0] != "running" || states[len(states)-1] != "stopped" {
		t.Errorf("task states %v: want running (at least twice), then stopped", states)
	}
	log := raw(t, s, "GET", "/nodes/pve/tasks/"+upid+"/log?start=0&limit=50", "", "", auth).body["data"].([]any)
	last := log[len(log)-1].(map[string]any)
	if last["t"] != "TASK OK" || log[0].(map[string]any)["n"] != float64(1) {
		t.Errorf("log %v", log)
	}
	conf := raw(t, s, "GET", "/nodes/pve/qemu/120/config", "", "", auth).body["data"].(map[string]any)
	if conf["cores"] != float64(2) || conf["memory"] != "1024" || conf["onboot"] != float64(1) || conf["tags"] != "a;b" {
		t.Errorf("config types: cores %#v memory %#v onboot %#v tags %#v", conf["cores"], conf["memory"], conf["onboot"], conf["tags"])
	}
	if conf["scsi0"] != "local-lvm:vm-120-disk-0,size=2G" || conf["ide2"] != "local-lvm:vm-120-cloudinit,media=cdrom" {
		t.Errorf("disks: %v / %v", conf["scsi0"], conf["ide2"])
	}
	if !regexp.MustCompile(`^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr1$`).MatchString(conf["net0"].(string)) {
		t.Errorf("net0 %v", conf["net0"])
	}
	if len(conf["digest"].(string)) != 40 || conf["boot"] != "order=scsi0;ide2;net0" {
		t.Errorf("digest %v boot %v", conf["digest"], conf["boot"])
	}
	vm, _ := s.VMByName("web")
	ci, err := vm.CloudInit()
	if err != nil || ci.User != "ubuntu" || len(ci.Keys) != 1 || !strings.HasSuffix(ci.Keys[0], " me") ||
		len(ci.Interfaces) != 1 || ci.Interfaces[0].Address.String() != "10.0.0.5/24" || ci.Interfaces[0].Gateway != "10.0.0.1" {
		t.Errorf("cloud-init %+v %v", ci, err)
	}
	// The same ID again: refused before any task.
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 120}`, auth)
	if r.status != "500 unable to create VM 120 - VM 120 already exists on node 'pve'" {
		t.Errorf("duplicate: %s", r.status)
	}
	// nextid is a string, as PVE sends it.
	if id := raw(t, s, "GET", "/cluster/nextid", "", "", auth).body["data"]; id != "100" {
		t.Errorf("nextid %#v", id)
	}
}

func TestPermissions(t *testing.T) {
	s := start(t, Options{})
	s.AddToken("weak@pve!t", "s3cret-s3cret", "VM.Audit")
	weak := "PVEAPIToken=weak@pve!t=s3cret-s3cret"
	r := raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 130, "memory": "512"}`, weak)
	if r.status != "403 Permission check failed (/vms/130, VM.Allocate)" {
		t.Errorf("create without VM.Allocate: %s", r.status)
	}
	if r := raw(t, s, "GET", "/nodes/pve/status", "", "", weak); r.status != "403 Permission check failed (/nodes/pve, Sys.Audit)" {
		t.Errorf("node status without Sys.Audit: %s", r.status)
	}
	if got := s.UsedPrivileges(); len(got) != 0 {
		t.Errorf("privileges recorded for refused calls: %v", got)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 130, "scsi0": "local-lvm:0,import-from=/root/x.qcow2"}`, auth)
	if r.status != "500 Only root can pass arbitrary filesystem paths." {
		t.Errorf("import from a path with a token: %s", r.status)
	}
	r = raw(t, s, "POST", "/nodes/pve/qemu", "application/json", `{"vmid": 130, "net0": "virtio,bridge=vmbr1"}`, "PVEAPIToken=weak@pve!t=s3cret-s3cret")
	if !strings.HasPrefix(r.status, "403 ") {
		t.Errorf("weak token with a NIC: %s", r.status)
	}
}

func TestGoProxmoxDrivesTheVMLifecycle(t *testing.T) {
	started := 0
	s := start(t, Options{OnStart: func(ctx context.Context, vm VM) error { started++; return nil }})
	c := px.NewClient(s.URL, px.WithAPIToken(tokenID, secret), px.WithInsecureSkipVerify())
	ctx := context.Background()
	node, err := c.Node(ctx, "pve")
	if err != nil {
		t.Fatal(err)
	}
	if node.Memory.Total == 0 || node.CPUInfo.CPUs == 0 {
		t.Errorf("node status %+v", node)
	}
	task, err := node.NewVirtualMachine(ctx, 140, px.VirtualMachineOption{Name: "name", Value: "db"}, px.VirtualMachineOption{Name: "cores", Value: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := task.WaitFor(ctx, 5); err != nil || !task.IsSuccessful {
		t.Fatalf("create task: %v %+v", err, task)
	}
	vm, err := node.VirtualMachine(ctx, 140)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Name != "db" || vm.Status != "stopped" || vm.VirtualMachineConfig.Cores == nil || *vm.VirtualMachineConfig.Cores != 2 {
		t.Errorf("vm %+v", vm)
	}
	task, err = vm.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	task.WaitFor(ctx, 5)
	if err := vm.Ping(ctx); err != nil || !vm.IsRunning() || started != 1 {
		t.Errorf("after start: %v running=%v hook=%d", err, vm.IsRunning(), started)
	}
	// Starting a running VM fails in the task, as on PVE.
	task, _ = vm.Start(ctx)
	task.WaitFor(ctx, 5)
	if !task.IsFailed || task.ExitStatus != "VM 140 already running" {
		t.Errorf("second start: %+v", task)
	}
	task, err = vm.NewSnapshot(ctx, "before")
	if err != nil {
		t.Fatal(err)
	}
	task.WaitFor(ctx, 5)
	snaps, err := vm.Snapshots(ctx)
	if err != nil || len(snaps) != 2 || snaps[0].Name != "before" || snaps[1].Name != "current" || snaps[1].Parent != "before" {
		t.Errorf("snapshots %v %+v", err, snaps)
	}
	task, err = vm.Snapshot("before").Rollback(ctx)
	if err != nil {
		t.Fatal(err)
	}
	task.WaitFor(ctx, 5)
	if vm.Ping(ctx); vm.IsRunning() {
		t.Error("a rollback without start left the VM running")
	}
	if _, err := c.Version(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = px.NewClient(s.URL, px.WithAPIToken(tokenID, "nope"), px.WithInsecureSkipVerify()).Version(ctx)
	if !px.IsNotAuthorized(err) {
		t.Errorf("wrong secret through go-proxmox: %v", err)
	}
	if _, err := node.VirtualMachine(ctx, 999); err == nil || !strings.Contains(err.Error(), "500 Configuration file 'nodes/pve/qemu-server/999.conf' does not exist") {
		t.Errorf("missing VM: %v", err)
	}
}
