package sshtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/host"
)

// SudoMode says what a throwaway user may do with sudo.
type SudoMode int

const (
	// SudoWithPassword: sudo asks for the user's password.
	SudoWithPassword SudoMode = iota
	// SudoNoPassword: sudo without a password (NOPASSWD).
	SudoNoPassword
	// NoSudo: no sudo rights at all.
	NoSudo
)

// User is a throwaway unix user that may log in to the server with the
// client key or its password.
type User struct {
	Name     string
	Password string
	server   *Server
}

// AddUser creates a unix user with a random name and password, allowed to
// log in to s, with the given sudo rights; it is deleted when the test
// ends. The test is skipped unless it runs as root with useradd, chpasswd
// and sudo installed.
func (s *Server) AddUser(t testing.TB, mode SudoMode) *User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sshtest: creating a throwaway user needs root")
	}
	for _, tool := range []string{"useradd", "userdel", "chpasswd", "sudo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("sshtest: %s is not installed (apt-get install -y sudo passwd): %v", tool, err)
		}
	}
	u := &User{Name: "cst" + randomHex(4), Password: "pw-" + randomHex(12), server: s}
	run := func(stdin string, name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("sshtest: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
		}
	}
	run("", "useradd", "--create-home", "--shell", "/bin/sh", u.Name)
	sudoers := filepath.Join("/etc/sudoers.d", "sshtest-"+u.Name)
	t.Cleanup(func() {
		os.Remove(sudoers)
		exec.Command("userdel", "--force", "--remove", u.Name).Run()
	})
	run(u.Name+":"+u.Password+"\n", "chpasswd")
	switch mode {
	case SudoWithPassword:
		writeSudoers(t, sudoers, u.Name+" ALL=(ALL:ALL) ALL\n")
	case SudoNoPassword:
		writeSudoers(t, sudoers, u.Name+" ALL=(ALL:ALL) NOPASSWD: ALL\n")
	}
	if err := s.authorize(u.Name); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return u
}

func writeSudoers(t testing.TB, path, line string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := os.WriteFile(path, []byte(line), 0o440); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

// Spec is a host.Spec logging in as the user with the client key, with the
// user's password as the sudo password.
func (u *User) Spec(name string) host.Spec {
	spec := u.server.Spec(name)
	spec.User = u.Name
	spec.SudoPassword = u.Password
	return spec
}

// PasswordSpec logs in with the user's password instead of a key.
func (u *User) PasswordSpec(name string) host.Spec {
	spec := u.Spec(name)
	spec.KeyFile = ""
	spec.Password = u.Password
	return spec
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("sshtest: random: %v", err))
	}
	return hex.EncodeToString(b)
}
