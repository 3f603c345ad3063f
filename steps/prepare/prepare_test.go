package prepare_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/recipe"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

func sampleData() map[string]map[string]any {
	return map[string]map[string]any{
		"packages.sh":      {"Packages": strings.Join(prepare.BasePackages(), " ")},
		"time.sh":          {"Servers": "0.pool.ntp.org 1.pool.ntp.org"},
		"admin.sh":         {"User": "ubuntu"},
		"sshkey.sh":        {"Key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP1 collabstack", "Users": "ubuntu root"},
		"sftp.sh":          {"Root": "/home/ubuntu/sftp", "Chroot": prepare.SFTPChroot, "SFTPUser": prepare.SFTPUser, "Admin": "ubuntu"},
		"sshd.sh":          {"PasswordAuth": "no"},
		"xfce.sh":          {},
		"docker-distro.sh": {"Admin": "ubuntu"},
		"docker-repo.sh":   {"Admin": "ubuntu", "RepoURL": prepare.DefaultDockerRepo},
		"node-distro.sh":   {},
		"node-nvm.sh":      {"User": "ubuntu", "Version": "lts", "NVMVersion": prepare.DefaultNVMVersion, "Tarball": "/tmp/nvm.tar.gz", "Mirror": ""},
	}
}

// TestScriptsAreShellcheckClean renders every script and runs shellcheck
// on it (the Docker-repository script cannot run here, download.docker.com
// being out of reach: shellcheck and this render are its only tests).
func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck)")
	}
	data := sampleData()
	for _, name := range prepare.Scripts() {
		script, err := prepare.Render(name, data[name])
		if err != nil {
			t.Errorf("render %s: %v", name, err)
			continue
		}
		cmd := exec.Command("shellcheck", "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(script)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}

func TestDockerRepoScript(t *testing.T) {
	script, err := prepare.Render("docker-repo.sh", map[string]any{"Admin": "ubuntu", "RepoURL": "https://download.docker.com/linux"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`signed-by=$keyring] $repo/$ID $VERSION_CODENAME stable`, "docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin", `curl -fsSL "$repo/$ID/gpg"`} {
		if !strings.Contains(script, want) {
			t.Errorf("docker-repo.sh lacks %q", want)
		}
	}
}

func TestStepsOrderAndIDs(t *testing.T) {
	if layout.ReachID("srv") != layout.ReachID("srv") {
		t.Fatalf("layout.ReachID %q differs from layout.ReachID %q", layout.ReachID("srv"), layout.ReachID("srv"))
	}
	s := &site.Site{Version: 1, Topology: site.TopologyKopnik}
	s.ApplyDefaults()
	ids := func(steps []engine.Step) map[string]engine.Step {
		m := map[string]engine.Step{}
		for _, st := range steps {
			m[st.ID()] = st
		}
		return m
	}
	got := ids(prepare.Steps(s, "srv"))
	for _, what := range []string{"packages", "time", "admin", "ssh", "sftp", "docker", "node"} {
		if _, ok := got[prepare.ID(what, "srv")]; !ok {
			t.Errorf("no step %s", prepare.ID(what, "srv"))
		}
	}
	if _, ok := got[prepare.ID("xfce", "srv")]; ok {
		t.Error("XFCE must be installed only when prepare.xfce is set")
	}
	// Every step comes after reaching the host, directly or through others.
	p := engine.NewPlan()
	p.MustAdd(recipe.ReachStep("srv"))
	p.MustAdd(prepare.Steps(s, "srv")...)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if order := p.Order(); order[0] != layout.ReachID("srv") {
		t.Fatalf("order = %v", order)
	}
	s.Prepare.XFCE = true
	s.Prepare.Docker = "docker-repo"
	got = ids(prepare.Steps(s, "srv"))
	if _, ok := got[prepare.ID("xfce", "srv")]; !ok {
		t.Error("prepare.xfce: true must add the XFCE step")
	}
	if !strings.Contains(got[prepare.ID("docker", "srv")].Title(), "Docker's repository") {
		t.Errorf("docker-repo gives %q", got[prepare.ID("docker", "srv")].Title())
	}
}

// TestPrepareBareLabNodeTwice prepares a bare lab node (no Docker) over the
// real SSH transport: the first run changes things, the second changes
// nothing; then it checks the result as a user would.
func TestPrepareBareLabNodeTwice(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("debootstrap is not installed (apt-get install debootstrap)")
	}
	if out, err := exec.CommandContext(ctx, "docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Skipf("no dockerd answers on this machine (%v: %s): start one (apt-get install docker.io && systemctl start docker, or dockerd &)", err, strings.TrimSpace(string(out)))
	}
	state := t.TempDir()
	lo := lab.Options{Nodes: 1, Network: fmt.Sprintf("cs-preptest-%d", os.Getpid()%100000), Image: lab.ImageBase, StateDir: state,
		Out: func(line string) { t.Log(line) }}
	t.Cleanup(func() { lab.Down(context.Background(), lo, true) })
	nodes, err := lab.Up(ctx, lo)
	if err != nil {
		t.Fatalf("lab up: %v (%s)", err, engine.HintOf(err))
	}
	node := nodes[0]

	s := &site.Site{Version: 1, Topology: site.TopologyLab, Domain: "kopnik.test", AdminEmail: "a@kopnik.test",
		Prepare: site.Prepare{NTP: []string{"ntp1.kopnik.test", "ntp2.kopnik.test"}, Node: prepare.NodeDistro}}
	s.ApplyDefaults()
	store, err := secrets.Open(filepath.Join(state, "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	known, err := ssh.Open(filepath.Join(state, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	red := secrets.NewRedactor(store)
	run := func(name string) engine.Summary {
		inv := engine.NewInventory(ssh.Dialer(known, red.Redact), host.Spec{Name: layout.LocalHost, Local: true}, node.Spec(state))
		defer inv.Close()
		plan := engine.NewPlan()
		plan.MustAdd(recipe.ReachStep(node.Name))
		plan.MustAdd(prepare.Steps(s, node.Name)...)
		start := time.Now()
		sum, err := (&engine.Runner{Plan: plan, Hosts: inv, Secrets: store, Redactor: red, Emit: func(e engine.Event) {
			switch {
			case e.Line != "":
				t.Logf("%s: %s", e.Step, e.Line)
			case e.Kind == engine.StepDone:
				t.Logf("%s: done (changed %v) in %s", e.Step, e.Changed, e.Elapsed.Round(time.Millisecond))
			}
		}}).Run(ctx)
		if err != nil {
			t.Fatalf("%s run: %v", name, err)
		}
		t.Logf("%s run: %+v in %s", name, sum, time.Since(start).Round(time.Second))
		return sum
	}
	first := run("first")
	if first.Changed != 8 {
		t.Errorf("first run changed %d steps, want all 8 prepare steps", first.Changed)
	}
	second := run("second")
	if second.Changed != 0 || second.Unchanged != 9 {
		t.Errorf("second run: %+v, want nothing changed", second)
	}

	// As a user would: the admin logs in with collabstack's key, may sudo
	// and use docker; password logins are refused now that the key works
	// (SSH hardening), for the admin and for root.
	adminPW, _ := store.Get(prepare.AdminPasswordSecret)
	for _, spec := range []host.Spec{
		{Name: "admin-password", Address: node.Address, Port: 22, User: "ubuntu", Password: adminPW, HostKey: lab.HostKeyFingerprint(state, node.Name)},
		{Name: "root-password", Address: node.Address, Port: 22, User: "root", Password: adminPW, HostKey: lab.HostKeyFingerprint(state, node.Name)},
	} {
		h, err := ssh.Dial(ctx, spec, ssh.Options{KnownHosts: known})
		var unknown *ssh.HostKeyUnknownError
		switch {
		case err == nil:
			h.Close()
			t.Errorf("%s: a password login got in after the SSH hardening", spec.Name)
		case errors.As(err, &unknown), errors.Is(err, host.ErrHostKeyChanged):
			t.Errorf("%s: refused for its host key, so the password was never tried: %v", spec.Name, err)
		}
	}
	for _, spec := range []host.Spec{
		{Name: "admin-key", Address: node.Address, Port: 22, User: "ubuntu", KeyFile: lab.KeyPath(state), HostKey: lab.HostKeyFingerprint(state, node.Name)},
	} {
		h, err := ssh.Dial(ctx, spec, ssh.Options{KnownHosts: known})
		if err != nil {
			t.Fatalf("log in as ubuntu (%s): %v", spec.Name, err)
		}
		groups, err := h.Run(ctx, "id -nG", host.RunOpts{})
		if err != nil || !strings.Contains(" "+groups, " sudo") || !strings.Contains(groups, "docker") {
			t.Errorf("%s: groups %q, %v", spec.Name, groups, err)
		}
		h.Close()
	}
	root, err := ssh.Dial(ctx, node.Spec(state), ssh.Options{KnownHosts: known})
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for cmd, want := range map[string]string{
		"sudo -u ubuntu docker info --format '{{.Driver}}'": "overlay2",
		"node --version": "v",
		"cat /etc/systemd/timesyncd.conf.d/collabstack.conf":          "NTP=ntp1.kopnik.test ntp2.kopnik.test",
		"systemctl is-enabled systemd-timesyncd":                      "enabled",
		"findmnt -n -o SOURCE " + prepare.SFTPChroot:                  "/home/ubuntu/sftp",
		"sshd -T -C user=sftp,host=x,addr=127.0.0.1 | grep -i chroot": prepare.SFTPChroot,
		"sshd -T | grep -i '^passwordauthentication'":                 "passwordauthentication no",
		"sshd -T | grep -i '^permitrootlogin'":                        "permitrootlogin without-password",
	} {
		out, err := root.Run(ctx, cmd, host.RunOpts{})
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("%s: %q, %v; want %q", cmd, out, err, want)
		}
	}

	// SFTP: the sftp account sees the SFTP root as / and nothing else, and
	// writes in a folder of its group.
	if _, err := root.Run(ctx, "install -d -m 2775 -o ubuntu -g sftp /home/ubuntu/sftp/kp-server", host.RunOpts{}); err != nil {
		t.Fatal(err)
	}
	sftpPW, _ := store.Get(prepare.SFTPPasswordSecret)
	conn, err := gossh.Dial("tcp", node.Address+":22", &gossh.ClientConfig{User: prepare.SFTPUser, Auth: []gossh.AuthMethod{gossh.Password(sftpPW)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("sftp login: %v", err)
	}
	defer conn.Close()
	if sess, err := conn.NewSession(); err == nil {
		out, err := sess.CombinedOutput("cat /etc/passwd")
		if err == nil && strings.Contains(string(out), "root:") {
			t.Error("the sftp account got a shell")
		}
		sess.Close()
	}
	fc, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatalf("sftp: %v", err)
	}
	defer fc.Close()
	if _, err := fc.Stat("/etc/passwd"); err == nil {
		t.Error("sftp sees /etc/passwd: not confined")
	}
	if _, err := fc.Stat("/kp-server"); err != nil {
		t.Errorf("sftp does not see /kp-server: %v", err)
	}
	f, err := fc.Create("/kp-server/hello.txt")
	if err != nil {
		t.Fatalf("sftp write: %v", err)
	}
	f.Write([]byte("hi"))
	f.Close()
	if out, _ := root.Run(ctx, "cat /home/ubuntu/sftp/kp-server/hello.txt", host.RunOpts{}); out != "hi" {
		t.Errorf("uploaded file reads %q", out)
	}

	// A configuration sshd -t refuses is put back and sshd keeps running.
	before, _ := root.Run(ctx, "cat /etc/ssh/sshd_config", host.RunOpts{})
	root.Run(ctx, `sed -i 's/ForceCommand internal-sftp -u 0002/ForceCommand internal-sftp/' /etc/ssh/sshd_config && sed -i '1i NoSuchOption yes' /etc/ssh/sshd_config`, host.RunOpts{})
	broken, _ := root.Run(ctx, "cat /etc/ssh/sshd_config", host.RunOpts{})
	inv := engine.NewInventory(ssh.Dialer(known, red.Redact), node.Spec(state))
	defer inv.Close()
	plan := engine.NewPlan()
	for _, st := range prepare.Steps(s, node.Name) {
		if st.ID() == prepare.ID("sftp", node.Name) {
			plan.MustAdd(&engine.Func{StepID: st.ID(), Name: st.Title(), On: st.HostName(), CheckFunc: st.Check, ApplyFunc: st.Apply})
		}
	}
	if _, err := (&engine.Runner{Plan: plan, Hosts: inv, Secrets: store}).Run(ctx); err == nil || !strings.Contains(err.Error(), "sshd -t refused") {
		t.Errorf("a broken sshd_config must fail the step, got %v", err)
	}
	if after, _ := root.Run(ctx, "cat /etc/ssh/sshd_config", host.RunOpts{}); after != broken {
		t.Error("the refused configuration was not put back as it was")
	}
	root.Run(ctx, "printf '%s' "+host.Quote(before)+" > /etc/ssh/sshd_config", host.RunOpts{})
	if state, _ := root.Run(ctx, "systemctl is-active ssh", host.RunOpts{}); strings.TrimSpace(state) != "active" {
		t.Errorf("sshd is %q after the refused configuration", state)
	}
}
