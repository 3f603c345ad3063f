package tui

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The pictures in docs/images are taken from the wizard's binary (with the
// fake backend: no host is dialled, the install is a scripted run) in a
// real terminal: tmux at 100×30. This test takes the captures as text and
// fails when docs/images/*.txt differ from them, so a change of a screen
// that is not followed by `scripts/screenshots` (which renders the PNGs)
// fails CI. Times and spinners are masked, since they differ per run.
//
//	go test ./tui -run TestScreenshots -update   # the text only
//	scripts/screenshots                          # text and PNGs
//
// With SCREENSHOT_ANSI set to a folder, the captures with their colours
// (tmux capture-pane -e) are written there too, for the PNG renderer.
func TestScreenshots(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed (apt-get install -y tmux)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wizarddemo")
	if out, err := exec.Command("go", "build", "-o", bin, "./internal/wizarddemo").CombinedOutput(); err != nil {
		t.Fatalf("build the demo: %v\n%s", err, out)
	}
	home := filepath.Join(dir, "home") // no key: the wizard offers "I only have a password"
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("collabstack-shots-%d", os.Getpid())}
	s.tmux("-f", "/dev/null", "new-session", "-d", "-s", "w", "-x", "100", "-y", "30",
		"env", "PS1=$ ", "TERM=xterm-256color", "COLORTERM=truecolor", "HOME="+home, "bash", "--norc", "--noprofile")
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	s.waitFor("$")
	s.text(fmt.Sprintf("cd %s && clear && %s -site collabstack.yaml -delay 30ms", dir, bin))
	s.keys("Enter")

	var shots []shot
	take := func(name string) {
		t.Helper()
		text, ansi := s.settled()
		shots = append(shots, shot{name, text, ansi})
	}

	s.waitFor("Where does the site run?")
	s.keys("Down")
	s.waitFor("> Existing Linux hosts (kopnik)")
	take("01-topology")
	s.keys("Enter")
	s.waitFor("+ add a host")
	s.keys("Enter")
	s.waitFor("┃ Name")
	s.keys("Enter")
	s.waitFor("┃ Role")
	s.keys("Enter")
	s.waitFor("┃ Address")
	s.text("203.0.113.10")
	s.waitFor("> 203.0.113.10")
	take("02-host")
	s.keys("Enter")
	s.waitFor("┃ SSH port")
	s.keys("Enter")
	s.waitFor("┃ User")
	s.keys("Enter")
	s.waitFor("┃ Log in with", "> I only have a password")
	take("03-login")
	s.keys("Enter")
	s.waitFor("used once, when you test the connection")
	s.text("provider-root-password")
	s.keys("Enter")
	s.waitFor("press t to log in once")
	s.keys("t")
	s.waitFor("Trust this host key?")
	take("04-host-key")
	s.keys("y")
	s.waitFor("main answers")
	take("05-hosts")
	s.keys("c")
	s.waitFor("┃ Domain")
	s.text("example.org")
	s.keys("Enter")
	// huh moves the focus through a command: type only once it moved.
	s.waitFor("┃ Admin e-mail")
	s.text("admin@example.org")
	s.keys("Enter")
	s.waitFor("┃ TLS certificates")
	// The domain is looked up after the typing pauses (resolveDelay): wait
	// for its answer, or a slow machine captures "checking whether…".
	s.waitFor("does not resolve yet")
	take("06-domain")
	s.keys("Enter")
	s.waitFor("Choose with space")
	s.keys("Down", "Space")
	s.waitFor("Nextcloud brings PostgreSQL, Redis")
	take("07-components")
	s.keys("Enter")
	s.waitFor("Change the advanced settings?")
	take("08-advanced")
	s.keys("Enter")
	s.waitFor("Plan ·", "enter write the site file and install")
	take("09-review")
	s.keys("Enter")
	s.waitFor("Installed")
	take("10-install")
	s.keys("q")
	// The run view while it works, stopped by a failing step: the steps,
	// the progress and the log of the failed one.
	s.waitFor("Credentials are in")
	s.text(fmt.Sprintf("clear && %s -apply -site collabstack.yaml -fail apps/nextcloud -delay 30ms", bin))
	s.keys("Enter")
	s.waitFor("✗ Deploy nextcloud")
	take("11-install-failed")
	s.keys("q")

	update := updateGolden()
	ansiDir := os.Getenv("SCREENSHOT_ANSI")
	images := filepath.Join("..", "docs", "images")
	for _, sh := range shots {
		path := filepath.Join(images, sh.name+".txt")
		if update {
			if err := os.MkdirAll(images, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(sh.text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if ansiDir != "" {
			if err := os.WriteFile(filepath.Join(ansiDir, sh.name+".ans"), []byte(sh.ansi), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		old, err := os.ReadFile(path)
		if err != nil || string(old) != sh.text {
			t.Errorf("docs/images/%s.png is not the screen the wizard shows now: run scripts/screenshots and commit docs/images\nnow:\n%s", sh.name, sh.text)
		}
	}
}

type shot struct{ name, text, ansi string }

// masks: what differs between two runs of the same screen.
var shotMasks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\b\d+(\.\d+)?(ms|s)\b`), "Ns"},
	{regexp.MustCompile(`\b\d+m\d+s\b`), "NmNs"},
	{regexp.MustCompile(`(^|[\s(])\d+:\d\d(:\d\d)?\b`), "${1}N:NN"},
	{regexp.MustCompile(`[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏⣾⣽⣻⢿⡿⣟⣯⣷]`), "*"},
}

// settled captures the screen once it has stopped changing (spinners
// aside) and returns it as masked text and with its colours.
func (s *tmuxSession) settled() (string, string) {
	s.t.Helper()
	mask := func(x string) string {
		for _, m := range shotMasks {
			x = m.re.ReplaceAllString(x, m.with)
		}
		lines := strings.Split(x, "\n")
		for i, l := range lines {
			lines[i] = strings.TrimRight(l, " ")
		}
		return strings.TrimRight(strings.Join(lines, "\n"), "\n") + "\n"
	}
	prev := ""
	deadline := time.Now().Add(5 * time.Second)
	for {
		time.Sleep(150 * time.Millisecond)
		cur := mask(s.screen())
		if cur == prev || time.Now().After(deadline) {
			return cur, s.tmux("capture-pane", "-p", "-e", "-t", "w")
		}
		prev = cur
	}
}
