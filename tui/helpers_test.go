package tui

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/site"
)

// updateGolden reports whether -update was given (the flag belongs to
// charmbracelet/x/exp/golden, which teatest uses).
func updateGolden() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	return ok && g.Get() == true
}

// requireGolden compares text with testdata/<test name>.golden.
func requireGolden(t *testing.T, text string) {
	t.Helper()
	golden.RequireEqual(t, []byte(text))
}

// driver runs a model synchronously, as huh's own tests do: every
// message's commands run with a short deadline (ticks and cursor blinks
// miss it and are dropped) and their messages are fed back.
type driver struct {
	t    *testing.T
	m    tea.Model
	quit bool
}

const cmdDeadline = 30 * time.Millisecond

func newDriver(t *testing.T, m tea.Model, width, height int) *driver {
	d := &driver{t: t, m: m}
	d.run(m.Init(), 0)
	d.send(tea.WindowSizeMsg{Width: width, Height: height})
	return d
}

func (d *driver) send(msgs ...tea.Msg) {
	for _, msg := range msgs {
		var cmd tea.Cmd
		d.m, cmd = d.m.Update(msg)
		d.run(cmd, 0)
	}
}

var cmdSliceType = reflect.TypeOf([]tea.Cmd(nil))

func (d *driver) run(cmd tea.Cmd, depth int) {
	if cmd == nil || depth > 40 {
		return
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-ch:
	case <-time.After(cmdDeadline):
		return
	}
	switch m := msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range m {
			d.run(c, depth+1)
		}
	case tea.QuitMsg:
		d.quit = true
	default:
		// tea.Sequence's message is an unexported []Cmd.
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().ConvertibleTo(cmdSliceType) {
			for _, c := range v.Convert(cmdSliceType).Interface().([]tea.Cmd) {
				d.run(c, depth+1)
			}
			return
		}
		var next tea.Cmd
		d.m, next = d.m.Update(msg)
		d.run(next, depth+1)
	}
}

// keys sends key presses by name ("enter", "down", "ctrl+c", "space") or
// as runes.
func (d *driver) keys(names ...string) {
	for _, n := range names {
		d.send(keyMsg(n))
	}
}

func keyMsg(n string) tea.KeyMsg {
	switch n {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "space":
		return tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	case "ctrl+u":
		return tea.KeyMsg{Type: tea.KeyCtrlU}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(n)}
}

// typ types text into the focused field.
func (d *driver) typ(text string) {
	for _, r := range text {
		d.send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
}

func (d *driver) view() string { return screenText(d.m.View()) }

// screenText is a view as the user reads it: no ANSI codes, no spaces at
// the ends of lines, no blank lines at the end.
func screenText(v string) string {
	lines := strings.Split(ansi.Strip(v), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n") + "\n"
}

func (d *driver) requireView(contains ...string) {
	d.t.Helper()
	v := d.view()
	for _, c := range contains {
		if !strings.Contains(v, c) {
			d.t.Fatalf("the screen does not show %q:\n%s", c, v)
		}
	}
}

// writeKey writes an ed25519 private key (OpenSSH format) for the key
// file checks.
func writeKey(t *testing.T, dir string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// testWizard is a wizard on the plain theme with a fake backend.
func testWizard(be Backend, path string) *wizard {
	return newWizard(context.Background(), be, plainTheme(), path)
}

// testedDraft is a kopnik site with one tested host of 8 GB.
func testedDraft(be *FakeBackend, keyFile string) *draft {
	d := newDraft(be.Catalog())
	d.topology = "kopnik"
	f := be.DefaultFacts
	sudo := false
	d.hosts = []*hostDraft{{
		Host:        hostOf("main", "manager", "203.0.113.10", keyFile, &sudo),
		Fingerprint: be.Fingerprint, Facts: &f,
	}}
	d.domain, d.email, d.tls = "example.org", "admin@example.org", "letsencrypt"
	return d
}

func hostOf(name, role, addr, keyFile string, sudo *bool) site.Host {
	return site.Host{Name: name, Role: role, Address: addr, Port: 22, User: "root",
		Auth: site.Auth{Method: site.AuthKey, KeyFile: keyFile}, Sudo: sudo}
}
