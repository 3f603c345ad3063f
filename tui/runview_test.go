package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/collabstack/collabstack/steps/engine"
)

var t0 = time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC)

// testRunView is a run view with a frozen clock, fed by hand.
func testRunView(be Backend, width, height int) *runView {
	m := newRunView(context.Background(), plainTheme(), be, "/srv/site.yaml", 4*time.Minute)
	m.now = func() time.Time { return t0.Add(75 * time.Second) }
	m.started = t0
	m.width, m.height = width, height
	return m
}

// scriptedEvents is a run: steps on two hosts, one failed, one blocked.
func scriptedEvents(fail bool) []engine.Event {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	ev := []engine.Event{{Kind: engine.RunStarted, Total: 6, Time: t0}}
	step := func(id, title, host string, s int, lines ...string) {
		ev = append(ev, engine.Event{Kind: engine.StepStarted, Step: id, Title: title, Host: host, Time: at(s)})
		for _, l := range lines {
			ev = append(ev, engine.Event{Kind: engine.StepOutput, Step: id, Title: title, Host: host, Line: l, Time: at(s)})
		}
	}
	done := func(id, title, host string, s int, changed bool) {
		ev = append(ev, engine.Event{Kind: engine.StepDone, Step: id, Title: title, Host: host, Changed: changed, Elapsed: time.Duration(s) * time.Second})
	}
	step("hosts/reach/main", "Connect and read facts", "main", 0, "Debian GNU/Linux 12 (bookworm), 4 cores, 7.8 GB")
	done("hosts/reach/main", "Connect and read facts", "main", 2, false)
	step("prepare/packages/main", "Install base packages", "main", 2, "Reading package lists...", "Setting up curl (7.88.1-10+deb12u8) ...")
	done("prepare/packages/main", "Install base packages", "main", 31, true)
	step("prepare/docker/main", "Install Docker", "main", 33, "Get:1 http://deb.debian.org/debian bookworm/main amd64 docker.io", "E: Failed to fetch http://deb.debian.org/debian/pool/main/d/docker.io")
	if fail {
		ev = append(ev, engine.Event{Kind: engine.StepFailed, Step: "prepare/docker/main", Title: "Install Docker", Host: "main",
			Err: errors.New("apt-get install docker.io: exit status 100"), Hint: "check that main reaches its package mirror (apt-get update), then retry", Elapsed: 12 * time.Second})
		ev = append(ev, engine.Event{Kind: engine.StepBlocked, Step: "swarm/init", Title: "Start the swarm", Host: "main"})
	}
	step("prepare/packages/standby", "Install base packages", "standby", 40, "Reading package lists...")
	return ev
}

func TestRunViewFailurePanel(t *testing.T) {
	m := testRunView(nil, 100, 30)
	m.Update(eventsMsg(scriptedEvents(true)))
	m.Update(eventsMsg{{Kind: engine.StepDone, Step: "prepare/packages/standby", Title: "Install base packages", Host: "standby", Changed: true, Elapsed: 20 * time.Second}})
	m.Update(runDoneMsg{err: engine.WithHint(errors.New("1 step failed"), "fix what it says and run apply again")})
	v := screenText(m.View())
	for _, want := range []string{"Finished with failures", "Error: apt-get install docker.io: exit status 100", "Hint:  check that main reaches", "r retry", "cannot be skipped"} {
		if !strings.Contains(v, want) {
			t.Errorf("the failure screen lacks %q", want)
		}
	}
	requireGolden(t, v)
}

func TestRunViewRunningNarrow(t *testing.T) {
	m := testRunView(nil, 72, 24)
	m.Update(eventsMsg(scriptedEvents(false)))
	requireGolden(t, screenText(m.View()))
}

func TestRunViewFinalScreen(t *testing.T) {
	m := testRunView(nil, 100, 30)
	m.Update(eventsMsg(scriptedEvents(false)))
	m.Update(eventsMsg{
		{Kind: engine.StepDone, Step: "prepare/docker/main", Title: "Install Docker", Host: "main", Changed: true, Elapsed: 40 * time.Second},
		{Kind: engine.StepDone, Step: "prepare/packages/standby", Title: "Install base packages", Host: "standby", Changed: true, Elapsed: 20 * time.Second},
		{Kind: engine.RunFinished},
	})
	m.Update(runDoneMsg{res: Result{
		URLs:        map[string]string{"nextcloud": "https://cloud.example.org/", "kopnik": "https://example.org/"},
		SecretsPath: "/srv/site.yaml.state/secrets.yaml",
		Notes:       []string{"Create the DNS record example.org A 203.0.113.10 before you invite anyone."},
	}})
	requireGolden(t, screenText(m.View()))
}

// blockingBackend runs until its context is cancelled.
type blockingBackend struct {
	FakeBackend
	cancelled chan struct{}
}

func (b *blockingBackend) Run(ctx context.Context, path string, emit func(engine.Event)) (Result, error) {
	emit(engine.Event{Kind: engine.RunStarted, Total: 3})
	emit(engine.Event{Kind: engine.StepStarted, Step: "a", Title: "Install Docker", Host: "main"})
	<-ctx.Done()
	close(b.cancelled)
	emit(engine.Event{Kind: engine.StepFailed, Step: "a", Title: "Install Docker", Host: "main", Err: ctx.Err()})
	emit(engine.Event{Kind: engine.RunFinished, Err: ctx.Err()})
	return Result{}, ctx.Err()
}

// Ctrl-C asks first; confirmed, it cancels the run (the engine stops and
// the journal keeps the state) and offers to resume.
func TestRunViewCtrlCConfirms(t *testing.T) {
	be := &blockingBackend{cancelled: make(chan struct{})}
	m := testRunView(be, 100, 30)
	wait := m.startRun()
	m.Update(wait()) // the first events
	m.Update(tea.KeyMsg{Type: tea.KeyCtrlC})
	if v := screenText(m.View()); !strings.Contains(v, "Stop the install?") {
		t.Fatalf("no confirmation:\n%s", v)
	}
	select {
	case <-be.cancelled:
		t.Fatal("cancelled before the confirmation")
	default:
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
	<-be.cancelled
	for m.phase != phaseFinished {
		_, cmd := m.Update(waitEvents(m.events, m.finished)())
		_ = cmd
	}
	v := screenText(m.View())
	if !strings.Contains(v, "Stopped: resumable") || !strings.Contains(v, "collabstack apply -c") {
		t.Fatalf("after stopping:\n%s", v)
	}
	if !errors.Is(m.runErr, context.Canceled) || !m.interrupted {
		t.Fatalf("runErr %v interrupted %v", m.runErr, m.interrupted)
	}
}

// The log memory stays bounded however much a run prints.
func TestRunViewLogIsBounded(t *testing.T) {
	m := testRunView(nil, 100, 30)
	for s := 0; s < 30; s++ {
		id := fmt.Sprintf("step-%d", s)
		m.apply(engine.Event{Kind: engine.StepStarted, Step: id, Title: id})
		for i := 0; i < 1000; i++ {
			m.apply(engine.Event{Kind: engine.StepOutput, Step: id, Line: strings.Repeat("x", 2000)})
		}
		m.apply(engine.Event{Kind: engine.StepDone, Step: id, Title: id})
	}
	held := 0
	for _, s := range m.steps {
		if s.log != nil {
			if s.log.len() > logLinesPerStep {
				t.Fatalf("%s holds %d lines", s.ID, s.log.len())
			}
			held += s.log.len()
			for _, l := range s.log.tail(1) {
				if len(l) > logLineMax+len("…") {
					t.Fatalf("a line of %d bytes", len(l))
				}
			}
		}
	}
	if held > logLinesTotal || held != m.logTotal {
		t.Fatalf("held %d lines, counted %d", held, m.logTotal)
	}
}
