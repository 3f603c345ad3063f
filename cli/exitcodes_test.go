package cli

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/proxmox"
)

// Every exit code of docs/user-guide.md, from the built binary (2 is the
// corpus test's). No run here reaches a step that changes this machine:
// the hosts are a closed port, a port that never answers, or a real sshd
// on loopback whose key is not trusted.

// siteAt writes a kopnik site whose one host is at 127.0.0.1:port.
func siteAt(t *testing.T, dir string, port int, user, keyFile, extra string) string {
	t.Helper()
	src := fmt.Sprintf(`version: 1
topology: kopnik
domain: exit.example.org
admin_email: admin@exit.example.org
tls: {mode: self-signed}
hosts:
  - name: main
    address: 127.0.0.1
    port: %d
    user: %s
    auth: {method: key, key_file: %s}
    role: manager
%scomponents:
  kopnik: {}
`, port, user, keyFile, extra)
	p := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// clientKey writes an ed25519 private key for the site's key_file.
func clientKey(t *testing.T, dir string) string {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, _ := gossh.MarshalPrivateKey(priv, "")
	p := filepath.Join(dir, "id_ed25519")
	os.WriteFile(p, pem.EncodeToMemory(block), 0o600)
	return p
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestExitCode1WhenAStepFails(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "home"), 0o700)
	p := siteAt(t, dir, closedPort(t), "root", clientKey(t, dir), "")
	code, out := runBin(t, dir, nil, "apply", "--config", p, "--yes")
	if code != ExitFailed || !strings.Contains(out, "main") {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
}

func TestExitCode3WhenTheLockIsHeld(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "home"), 0o700)
	p := siteAt(t, dir, closedPort(t), "root", clientKey(t, dir), "")
	state := filepath.Join(dir, "site.state")
	os.Mkdir(state, 0o700)
	f, err := os.OpenFile(filepath.Join(state, "apply.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	code, out := runBin(t, dir, nil, "apply", "--config", p, "--yes")
	if code != ExitLocked || !strings.Contains(out, "another apply") {
		t.Fatalf("exit %d, want 3:\n%s", code, out)
	}
}

// Exit 4 against a real sshd: a pinned key that changed, from apply and
// plan; a key nobody vouched for; a host_key that does not match. None
// of them reaches a step, and known_hosts is never rewritten.
func TestExitCode4ForHostKeys(t *testing.T) {
	srv := sshtest.Start(t)
	cases := []struct {
		name, extra, pin string
		args             []string
		want             []string
	}{
		{name: "changed (apply)", pin: "other", args: []string{"apply", "--yes"}, want: []string{"has changed", "known_hosts"}},
		{name: "changed (plan)", pin: "other", args: []string{"plan"}, want: []string{"has changed"}},
		{name: "unknown (apply)", args: []string{"apply", "--yes"}, want: []string{"not known yet", "--accept-new-host-keys", "host_key"}},
		{name: "unknown (plan)", args: []string{"plan"}, want: []string{"not known yet"}},
		{name: "wrong host_key", extra: "    host_key: SHA256:" + strings.Repeat("A", 43) + "\n", args: []string{"apply", "--yes"}, want: []string{"not the one the site file gives"}},
		{name: "changed even with --accept-new-host-keys", pin: "other", args: []string{"apply", "--yes", "--accept-new-host-keys"}, want: []string{"has changed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "home"), 0o700)
			p := siteAt(t, dir, srv.Port, srv.User, srv.KeyFile, c.extra)
			known := filepath.Join(dir, "site.state", "known_hosts")
			if c.pin != "" {
				pub, _, _ := ed25519.GenerateKey(rand.Reader)
				k, _ := gossh.NewPublicKey(pub)
				os.Mkdir(filepath.Dir(known), 0o700)
				line := fmt.Sprintf("main %s ssh-ed25519 %s\n", srv.Addr, base64.StdEncoding.EncodeToString(k.Marshal()))
				if err := os.WriteFile(known, []byte(line), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := os.ReadFile(known)
			code, out := runBin(t, dir, nil, append(c.args, "--config", p)...)
			if code != ExitTrust {
				t.Fatalf("exit %d, want 4:\n%s", code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			after, _ := os.ReadFile(known)
			if string(before) != string(after) {
				t.Errorf("known_hosts changed:\n%s\n->\n%s", before, after)
			}
			if _, err := os.Stat(filepath.Join(dir, "site.state", "journal.jsonl")); err == nil {
				t.Error("a step ran: the journal exists")
			}
		})
	}
}

// Ctrl-C while apply waits on a host that accepts and never answers.
func TestExitCode130OnSIGINT(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "home"), 0o700)
	p := siteAt(t, dir, l.Addr().(*net.TCPAddr).Port, "root", clientKey(t, dir), "")
	cmd := exec.Command(binary(t), "apply", "--config", p, "--yes")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + filepath.Join(dir, "home"), "PATH=" + os.Getenv("PATH"), "CI=true"}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
		t.Fatalf("exit %v, want 130:\n%s", err, out.String())
	}
}

// A changed PVE certificate, behind a step's failure, is exit 4 as a
// changed host key is (the API steps run against pvesim in steps/proxmox).
func TestExitCodeMapsTrustErrorsBehindAStep(t *testing.T) {
	cert := &proxmox.CertMismatchError{Host: "pve", Address: "10.0.0.2:8006", Want: "a", Got: "b"}
	run := &engine.RunError{Failures: []engine.StepFailure{{Title: "Create VM", Err: fmt.Errorf("create: %w", cert)}}}
	if got := exitCode(run); got != ExitTrust {
		t.Errorf("PVE certificate behind a step: %d, want 4", got)
	}
	if got := exitCode(&engine.RunError{Failures: []engine.StepFailure{{Title: "x", Err: errors.New("apt failed")}}}); got != ExitFailed {
		t.Errorf("a failed step: %d, want 1", got)
	}
}
