package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/collabstack/collabstack/steps/site"
)

// waitScreen waits until the program has drawn every text.
func waitScreen(t *testing.T, tm *teatest.TestModel, texts ...string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		s := ansi.Strip(string(b))
		for _, x := range texts {
			if !strings.Contains(s, x) {
				return false
			}
		}
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// finalScreen quits the program and returns its last view as text.
func finalScreen(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	return screenText(m.View())
}

func enter(tm *teatest.TestModel) { tm.Send(tea.KeyMsg{Type: tea.KeyEnter}) }

// A mistyped address shows the site validator's error in place, under the
// field, as it is typed.
func TestWizardValidationErrorInPlace(t *testing.T) {
	w := testWizard(NewFakeBackend(), "/srv/site.yaml")
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
	tm.Type("10.0.0.300")
	waitScreen(t, tm, `┃ ✗ "10.0.0.300" is not an IP address`)
	requireGolden(t, finalScreen(t, tm))
}

// Choosing more than the tested host holds is refused with the reason.
func TestWizardOverCommitRefused(t *testing.T) {
	be := NewFakeBackend()
	be.DefaultFacts.RAMMB = 4096
	w := testWizard(be, "/srv/site.yaml")
	w.d = testedDraft(be, writeKey(t, t.TempDir()))
	w.d.hosts[0].Facts.RAMMB = 4096
	w.first = &componentsPage{}
	tm := teatest.NewTestModel(t, w, teatest.WithInitialTermSize(100, 34))
	waitScreen(t, tm, "Choose with space")
	tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}) // Nextcloud: 3.8 GB with its needs
	waitScreen(t, tm, "Nextcloud brings PostgreSQL, Redis")
	for i := 0; i < 3; i++ {
		tm.Send(tea.KeyMsg{Type: tea.KeyDown})
	}
	tm.Send(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}) // Gitea: 512 MB more
	waitScreen(t, tm, "Gitea needs 512 MB of memory")
	screen := finalScreen(t, tm)
	if !strings.Contains(screen, "[ ] Gitea") {
		t.Fatalf("Gitea was chosen:\n%s", screen)
	}
	requireGolden(t, screen)
}

// A site file with an interrupted install offers to resume it first; the
// choice runs the install again.
func TestWizardResumeOffer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	be := NewFakeBackend()
	s := testedDraft(be, writeKey(t, dir)).site()
	s.Components = map[string]site.Component{"gitea": {}, "postgres": {}}
	if err := be.Save(s, nil, path); err != nil {
		t.Fatal(err)
	}
	be.Sites = map[string]*ExistingSite{path: {
		Site: s, Interrupted: true, Done: 12, Total: 40,
		LastRun: time.Date(2025, 3, 14, 9, 26, 0, 0, time.Local),
	}}
	w := testWizard(be, path)
	tm := teatest.NewTestModel(t, w, teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "Resume the unfinished install", "Start a new site")
	enter(tm)
	waitScreen(t, tm, "Installed")
	final := finalScreen(t, tm)
	if be.Runs() != 1 {
		t.Fatalf("%d runs", be.Runs())
	}
	if !strings.Contains(final, "gitea") {
		t.Fatalf("final screen:\n%s", final)
	}
}

// The resume offer as it looks (the start page drawn directly).
func TestWizardResumeOfferScreen(t *testing.T) {
	be := NewFakeBackend()
	s := testedDraft(be, "~/.ssh/id_ed25519").site()
	be.Sites = map[string]*ExistingSite{"/srv/site.yaml": {
		Site: s, Interrupted: true, Done: 12, Total: 40,
		LastRun: time.Date(2025, 3, 14, 9, 26, 0, 0, time.Local),
	}}
	tm := teatest.NewTestModel(t, testWizard(be, "/srv/site.yaml"), teatest.WithInitialTermSize(100, 30))
	waitScreen(t, tm, "Resume the unfinished install", "Start a new site")
	requireGolden(t, finalScreen(t, tm))
}

// Ctrl-C before anything is written leaves the wizard with nothing done.
func TestWizardCtrlCWritesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	wz := testWizard(NewFakeBackend(), path)
	d := newDriver(t, wz, 100, 30)
	d.requireView("Where does the site run?")
	d.keys("ctrl+c")
	if !d.quit || !wz.aborted {
		t.Fatal("ctrl+c did not leave")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("a site file was written")
	}
}

// Adding components to a site: its hosts are read with their pinned keys
// for the budget, and the site file is written back with the addition.
func TestWizardAddComponents(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	be := NewFakeBackend()
	s := testedDraft(be, writeKey(t, dir)).site()
	s.Components = map[string]site.Component{"gitea": {}, "postgres": {}}
	if err := be.Save(s, nil, path); err != nil {
		t.Fatal(err)
	}
	loaded, err := be.Existing(path)
	if err != nil || loaded == nil {
		t.Fatalf("existing: %v", err)
	}
	w := testWizard(be, path)
	d := newDriver(t, w, 100, 34)
	d.requireView("Run the install again", "Add components to this site")
	d.keys("down", "enter")
	d.requireView("[x] Gitea", "[x] PostgreSQL", "Memory", "of 8.0 GB")
	d.keys("down", "space", "enter")
	d.requireView("Change the advanced settings?")
	d.keys("enter")
	d.requireView("Components nextcloud, gitea, postgres, redis", "Plan ·")
	d.keys("s")
	if !w.saved || !d.quit {
		t.Fatal("not written")
	}
	back, err := site.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"nextcloud", "redis", "gitea", "postgres"} {
		if _, ok := back.Components[c]; !ok {
			t.Errorf("%s missing from %v", c, back.Components)
		}
	}
}
