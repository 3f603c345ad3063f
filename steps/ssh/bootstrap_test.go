package ssh

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/sshkey"
)

// A host that takes only a password gets collabstack's key: against a real
// sshd with password logins, a real unix user and its real
// ~/.ssh/authorized_keys. Running it again changes nothing.
func TestInstallKeyWithPassword(t *testing.T) {
	srv := sshtest.Start(t, sshtest.WithHomeAuthorizedKeys())
	u := srv.AddUser(t, sshtest.NoSudo)
	home := homeOf(t, u.Name)
	// An authorized_keys that does not end in a newline must keep its key.
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	other := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDwzLk3GxWvWmJ7mC5w4KZl0pR9b0Yv3eS1bM0nXoQ3a someone"
	ak := filepath.Join(home, ".ssh", "authorized_keys")
	if err := os.WriteFile(ak, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	exec.Command("chown", "-R", u.Name+":", filepath.Join(home, ".ssh")).Run()

	keyFile := SiteKeyPath(filepath.Join(t.TempDir(), "state"))
	spec := u.PasswordSpec("main")
	opts := testOptions(t)

	// Before: the site's key (made now) does not log in.
	if _, err := sshkey.Ensure(keyFile, KeyComment); err != nil {
		t.Fatal(err)
	}
	keyOnly := u.Spec("main")
	keyOnly.KeyFile, keyOnly.SudoPassword = keyFile, ""
	if h, err := Dial(testCtx(t), keyOnly, opts); err == nil {
		h.Close()
		t.Fatal("the new key logged in before it was installed")
	}

	added, err := InstallKey(testCtx(t), spec, keyFile, opts)
	if err != nil {
		t.Fatalf("InstallKey: %v", err)
	}
	if !added {
		t.Error("InstallKey said the key was there already")
	}
	h := dial(t, keyOnly, opts)
	if out, err := h.Run(testCtx(t), "id -un", host.RunOpts{}); err != nil || strings.TrimSpace(out) != u.Name {
		t.Fatalf("key login: %q, %v", out, err)
	}

	added, err = InstallKey(testCtx(t), spec, keyFile, opts)
	if err != nil || added {
		t.Fatalf("second InstallKey: added %v, %v; want nothing to do", added, err)
	}
	data, err := os.ReadFile(ak)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 || lines[0] != other || !strings.HasSuffix(lines[1], " "+KeyComment) {
		t.Fatalf("authorized_keys is\n%s\nwant the old key and collabstack's, once each", data)
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file %s: %v, mode %v; want 0600", keyFile, err, st.Mode().Perm())
	}
	if st, err := os.Stat(ak); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("authorized_keys mode: %v %v", st.Mode().Perm(), err)
	}
}

// A wrong password changes nothing on the host and says what to check.
func TestInstallKeyWrongPassword(t *testing.T) {
	srv := sshtest.Start(t, sshtest.WithHomeAuthorizedKeys())
	u := srv.AddUser(t, sshtest.NoSudo)
	spec := u.PasswordSpec("main")
	spec.Password = "not-" + spec.Password
	keyFile := SiteKeyPath(t.TempDir())
	_, err := InstallKey(testCtx(t), spec, keyFile, testOptions(t))
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("InstallKey with a wrong password: %v; want a login error naming the password", err)
	}
	if strings.Contains(err.Error(), spec.Password) {
		t.Fatalf("the error shows the password: %v", err)
	}
	if _, err := os.Stat(filepath.Join(homeOf(t, u.Name), ".ssh", "authorized_keys")); err == nil {
		t.Fatal("authorized_keys was written although the login failed")
	}
}

func homeOf(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	return f[5]
}
