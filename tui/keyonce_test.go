package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/collabstack/collabstack/steps/site"
)

func init() {
	// Screens must not depend on whether this machine has ~/.ssh/id_ed25519.
	defaultKeyExists = func() bool { return true }
}

// "I only have a password" in the full-screen wizard: the test of the
// connection installs the site's key, the host then logs in with it, and
// the password is in neither the site file nor the secrets. The fake
// backend cannot show that a key really logs in: cli's TestHostsAddKey and
// steps/ssh's TestInstallKeyWithPassword do, against a real sshd.
func TestWizardPasswordOnceInstallsKey(t *testing.T) {
	be := NewFakeBackend()
	w := testWizard(be, "/srv/site.yaml")
	tm := teatest.NewTestModel(t, w, teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "Where does the site run?")
	tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	waitScreen(t, tm, "> Existing Linux hosts (kopnik)")
	enter(tm)
	waitScreen(t, tm, "+ add a host")
	enter(tm)
	waitScreen(t, tm, "┃ Name")
	enter(tm)
	waitScreen(t, tm, "┃ Role")
	enter(tm)
	waitScreen(t, tm, "┃ Address")
	tm.Type("10.0.0.30")
	enter(tm)
	waitScreen(t, tm, "┃ SSH port")
	enter(tm)
	waitScreen(t, tm, "┃ User")
	enter(tm)
	waitScreen(t, tm, "┃ Log in with")
	for range 3 {
		tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	}
	waitScreen(t, tm, "> I only have a password", "install it, then uses the key")
	enter(tm)
	waitScreen(t, tm, "used once, when you test the connection")
	tm.Type("hunter2-provider")
	enter(tm)
	waitScreen(t, tm, "press t to log in once with the password", "password once, then the site's key")
	tm.Type("c")
	waitScreen(t, tm, "main has only a password so far")
	tm.Type("t")
	waitScreen(t, tm, "Trust this host key?")
	tm.Type("y")
	waitScreen(t, tm, "main answers", "the site's key")
	tm.Type("c")
	waitScreen(t, tm, "┃ Domain")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	tm.WaitFinished(t)

	h := w.d.hosts[0]
	wantKey := filepath.Join("/srv", "site.state", "ssh", "id_ed25519")
	s := w.d.site()
	if got := s.Hosts[0].Auth; got.Method != site.AuthKey || got.KeyFile != wantKey || got.PasswordRef != "" {
		t.Errorf("auth in the site file: %+v, want the key %s", got, wantKey)
	}
	if h.Password != "" || len(w.d.secrets()) != 0 {
		t.Errorf("the password is kept: %q, secrets %v", h.Password, w.d.secrets())
	}
}

// The plain wizard: a wrong password is said, tried again, and the host
// ends with the site's key; a user who gives up keeps the password.
func TestPlainWizardPasswordOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []string // after "Log in with: 4"
		want    string
	}{
		// password, keep it for sudo, sudo, trust: installed.
		{"installed", []string{"right-pw", "y", "y", "y"}, "method: key"},
		// wrong password, not kept, sudo, no sudo password, trust, fails,
		// do not try again.
		{"given up", []string{"wrong-pw", "n", "y", "", "y", "n"}, "method: password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "site.yaml")
			be := NewFakeBackend()
			be.WrongPassword = "wrong-pw"
			script := []string{"2", "", "", "10.0.0.30", "", "deploy", "4"}
			script = append(script, tc.answers...)
			script = append(script, "n", "example.org", "admin@example.org", "1", "nextcloud", "n", "1")
			r, wr, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			go func() {
				wr.WriteString(strings.Join(script, "\n") + "\n")
				wr.Close()
			}()
			var out bytes.Buffer
			if _, err := RunWizard(context.Background(), Options{Backend: be, SitePath: path, In: r, Out: &out, Plain: true}); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			data, _ := os.ReadFile(path)
			if !strings.Contains(string(data), tc.want) {
				t.Fatalf("site file lacks %q:\n%s\n%s", tc.want, data, out.String())
			}
			sec := be.SavedSecrets()
			switch tc.name {
			case "installed":
				if !strings.Contains(string(data), filepath.Join(dir, "site.state", "ssh", "id_ed25519")) || sec["main-sudo"] != "right-pw" || sec["main-password"] != "" {
					t.Errorf("site file\n%s\nsecrets %v; want the site's key and the password kept only as sudo's", data, sec)
				}
				if !strings.Contains(out.String(), "is installed and logs in") {
					t.Errorf("transcript:\n%s", out.String())
				}
			default:
				if sec["main-password"] != "wrong-pw" || !strings.Contains(out.String(), "hosts add-key main") {
					t.Errorf("secrets %v, transcript:\n%s", sec, out.String())
				}
			}
		})
	}
}
