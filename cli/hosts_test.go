package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

// `hosts add-key` on a host that takes only a password, against a real
// sshd and a real unix user: the key is made in the state directory,
// installed, proven, and the site file then names it (its comment kept);
// the password is not stored. A second run changes nothing.
func TestHostsAddKey(t *testing.T) {
	srv := sshtest.Start(t, sshtest.WithHomeAuthorizedKeys())
	u := srv.AddUser(t, sshtest.SudoWithPassword)
	dir := t.TempDir()
	p := filepath.Join(dir, "site.yaml")
	yml := fmt.Sprintf(`version: 1
topology: kopnik
domain: kopnik.example.org
admin_email: admin@kopnik.example.org
tls:
  mode: self-signed
hosts:
  # the hosting provider's server: a password only
  - name: main
    address: %s
    port: %d
    user: %s
    auth:
      method: password
      password_ref: main-password
    role: manager
components:
  kopnik: {}
`, srv.Host, srv.Port, u.Name)
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}

	// Without a terminal and without a fingerprint nothing is trusted.
	code, _, errs := run(t, u.Password+"\n", "hosts", "add-key", "main", "-c", p)
	if code != ExitUsage || !strings.Contains(errs, "--host-key "+srv.Fingerprint(t)) {
		t.Fatalf("no fingerprint: exit %d, %s", code, errs)
	}
	if code, _, errs := run(t, u.Password+"\n", "hosts", "add-key", "nope", "-c", p); code != ExitUsage || !strings.Contains(errs, "its hosts are main") {
		t.Fatalf("unknown host: exit %d, %s", code, errs)
	}

	code, _, errs = run(t, u.Password+"\n", "hosts", "add-key", "main", "-c", p, "--host-key", srv.Fingerprint(t), "--keep-password")
	if code != ExitOK {
		t.Fatalf("add-key: exit %d\n%s", code, errs)
	}
	if strings.Contains(errs, u.Password) {
		t.Fatalf("the output shows the password:\n%s", errs)
	}
	data, _ := os.ReadFile(p)
	if !strings.Contains(string(data), "# the hosting provider's server") || strings.Contains(string(data), " password_ref:") {
		t.Fatalf("site file after add-key:\n%s", data)
	}
	s, err := site.Load(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := s.Hosts[0]
	keyFile := ssh.SiteKeyPath(s.StateDir)
	if h.Auth.Method != site.AuthKey || h.Auth.KeyFile != keyFile || h.SudoPasswordRef != "main-sudo" {
		t.Fatalf("host after add-key: %+v", h)
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key %s: %v", keyFile, err)
	}

	// The key alone logs in, with the host key pinned by add-key.
	known, err := ssh.Open(filepath.Join(s.StateDir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := ssh.Dial(ctx, host.Spec{Name: "main", Address: srv.Host, Port: srv.Port, User: u.Name, KeyFile: keyFile}, ssh.Options{KnownHosts: known})
	if err != nil {
		t.Fatalf("key login: %v", err)
	}
	c.Close()

	// Again: the key logs in already; nothing is asked or added.
	code, _, errs = run(t, "", "hosts", "add-key", "main", "-c", p)
	if code != ExitOK || !strings.Contains(errs, "already logs in") {
		t.Fatalf("second add-key: exit %d\n%s", code, errs)
	}
	if again, _ := os.ReadFile(p); string(again) != string(data) {
		t.Fatalf("the second run changed the site file:\n%s", again)
	}
}

// The plain wizard's "I only have a password" with the real backend on a
// real sshd: one password login installs the site's key, the facts are
// read with the key, and the written site file names the key.
func TestPlainWizardPasswordOnceRealBackend(t *testing.T) {
	srv := sshtest.Start(t, sshtest.WithHomeAuthorizedKeys())
	u := srv.AddUser(t, sshtest.SudoNoPassword)
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	script := strings.Join([]string{
		"2", "", "main", srv.Host, fmt.Sprint(srv.Port), u.Name,
		"4",        // I only have a password
		u.Password, // used once
		"n",        // not kept
		"y",        // sudo
		"",         // sudo asks for no password
		"y",        // trust the host key
		"n",        // no more hosts
		"kopnik.test", "admin@kopnik.test", "3", "kopnik",
		"n", // keep the advanced defaults
		"2", // write the site file only
	}, "\n") + "\n"
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.WriteString(script); w.Close() }()
	var out, errb strings.Builder
	code := Main([]string{"wizard", "--plain", "--config", path}, r, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	if !strings.Contains(out.String(), "is installed and logs in") || !strings.Contains(out.String(), "cores") {
		t.Fatalf("transcript:\n%s", out.String())
	}
	s, err := site.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := s.Hosts[0].Auth; a.Method != site.AuthKey || a.KeyFile != ssh.SiteKeyPath(s.StateDir) {
		t.Fatalf("auth %+v", a)
	}
	data, _ := os.ReadFile(filepath.Join(s.StateDir, "secrets.yaml"))
	if strings.Contains(string(data), u.Password) {
		t.Fatal("the password was stored")
	}
}
