package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tmuxSession drives a program in a detached tmux session of its own
// server (a private socket), as a user at a terminal would.
type tmuxSession struct {
	t      *testing.T
	socket string
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", "w") }

// keys sends tmux key names (Enter, Down, C-u, Space) or literal text.
func (s *tmuxSession) keys(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", "w"}, keys...)...)
}

func (s *tmuxSession) text(text string) { s.tmux("send-keys", "-t", "w", "-l", text) }

// waitFor waits until the screen shows every text.
func (s *tmuxSession) waitFor(texts ...string) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr := s.screen()
		ok := true
		for _, x := range texts {
			if !strings.Contains(scr, x) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the screen never showed %q:\n%s", texts, scr)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// The real binary (with the fake backend) typed through from the first
// screen to a site file, in tmux; afterwards the terminal is as before:
// the alternate screen left, the cursor shown, the tty modes restored.
func TestTmuxWizardToSiteFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and drives a binary in tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wizarddemo")
	if out, err := exec.Command("go", "build", "-o", bin, "./internal/wizarddemo").CombinedOutput(); err != nil {
		t.Fatalf("build the demo: %v\n%s", err, out)
	}
	key := writeKey(t, dir)
	sitePath := filepath.Join(dir, "site.yaml")
	// A user with a key at the default path: the wizard then offers the
	// key file first (without one it offers "I only have a password").
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeKey(t, filepath.Join(home, ".ssh"))

	s := &tmuxSession{t: t, socket: fmt.Sprintf("collabstack-tui-test-%d", os.Getpid())}
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "w", "-x", "100", "-y", "30",
		"env", "PS1=ready$ ", "TERM=xterm-256color", "HOME="+home, "bash", "--norc", "--noprofile")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	s.waitFor("ready$")
	s.text(fmt.Sprintf("cd %s && stty -g > before && %s -site %s -delay 20ms; echo EXIT=$?; stty -g > after", dir, bin, sitePath))
	s.keys("Enter")

	s.waitFor("Where does the site run?")
	s.keys("Down")
	s.waitFor("> Existing Linux hosts (kopnik)")
	s.keys("Enter")
	s.waitFor("+ add a host")
	s.keys("Enter")
	s.waitFor("┃ Name")
	s.keys("Enter")
	s.waitFor("┃ Role")
	s.keys("Enter")
	s.waitFor("┃ Address")
	s.text("10.0.0.300")
	s.waitFor(`is not an IP address`) // the mistake, shown in place
	s.keys("BSpace", "BSpace", "BSpace")
	s.text("30")
	s.waitFor("> 10.0.0.30", "IP address or DNS name")
	s.keys("Enter")
	s.waitFor("┃ SSH port")
	s.keys("Enter")
	s.waitFor("┃ User")
	s.keys("Enter")
	s.waitFor("┃ Log in with")
	s.keys("Enter")
	s.waitFor("┃ Private key file")
	s.keys("C-u")
	s.text(key)
	s.waitFor("checked to exist and parse")
	s.keys("Enter")
	s.waitFor("main saved")
	s.keys("t")
	s.waitFor("Trust this host key?")
	s.keys("y")
	s.waitFor("main answers")
	s.keys("c")
	s.waitFor("┃ Domain")
	s.text("example.org")
	s.waitFor("> example.org")
	s.keys("Enter")
	s.waitFor("┃ Admin e-mail")
	s.text("admin@example.org")
	s.waitFor("> admin@example.org")
	s.keys("Enter")
	s.waitFor("┃ TLS certificates")
	s.keys("Enter")
	s.waitFor("Choose with space")
	s.keys("Down", "Space")
	s.waitFor("Nextcloud brings PostgreSQL, Redis")
	s.keys("Enter")
	s.waitFor("Change the advanced settings?")
	s.keys("Enter")
	s.waitFor("Plan ·", "enter write the site file and install")
	s.keys("Enter")
	s.waitFor("Installed", "https://nextcloud.example.org/")
	s.keys("q")
	s.waitFor("EXIT=0", "ready$")

	st, err := os.Stat(sitePath)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("site file mode %v", st.Mode().Perm())
	}
	data, _ := os.ReadFile(sitePath)
	want := fmt.Sprintf(`# collabstack site file, written by the wizard
version: 1
topology: kopnik
domain: example.org
admin_email: admin@example.org
tls:
    mode: letsencrypt
hosts:
    - name: main
      address: 10.0.0.30
      port: 22
      user: root
      auth:
        method: key
        key_file: %s
      sudo: false
      role: manager
components:
    nextcloud: {}
    postgres: {}
    redis: {}
`, key)
	if string(data) != want {
		t.Errorf("site file:\n%s\nwant:\n%s", data, want)
	}

	// The terminal is restored: main screen, cursor visible, tty modes as
	// before, and the result left on the screen.
	if got := strings.TrimSpace(s.tmux("display-message", "-p", "-t", "w", "#{alternate_on} #{cursor_flag}")); got != "0 1" {
		t.Errorf("alternate screen and cursor: %q, want \"0 1\"", got)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "before"))
	// stty writes "after" just after EXIT= shows: wait for it.
	var after []byte
	for deadline := time.Now().Add(5 * time.Second); len(after) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		after, _ = os.ReadFile(filepath.Join(dir, "after"))
	}
	if len(before) == 0 || string(before) != string(after) {
		t.Errorf("tty modes changed: %q before, %q after", before, after)
	}
	if scr := s.screen(); !strings.Contains(scr, "Credentials are in") {
		t.Errorf("the result is not left on the terminal:\n%s", scr)
	}
}
