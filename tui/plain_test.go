package tui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
)

func TestPlainPrinter(t *testing.T) {
	var b bytes.Buffer
	emit := PlainPrinter(&b)
	emit(engine.Event{Kind: engine.RunStarted, Total: 3})
	emit(engine.Event{Kind: engine.StepStarted, Step: "p", Title: "Install packages", Host: "main"})
	emit(engine.Event{Kind: engine.StepOutput, Step: "p", Line: "\x1b[32mSetting up\x1b[0m docker.io\r"})
	emit(engine.Event{Kind: engine.StepDone, Step: "p", Title: "Install packages", Host: "main", Changed: true, Elapsed: 1234 * time.Millisecond})
	emit(engine.Event{Kind: engine.StepFailed, Step: "j", Title: "Join the swarm", Host: "worker-1",
		Err: engine.WithHint(errors.New("connection refused"), "open port 2377")})
	emit(engine.Event{Kind: engine.StepBlocked, Step: "d", Title: "Deploy nextcloud"})
	want := `run: 3 steps
        start   Install packages on main
        | Setting up docker.io
[  1/3] ok      Install packages on main (1.234s)
[  2/3] FAILED  Join the swarm on worker-1: connection refused
        hint: open port 2377
[  3/3] blocked Deploy nextcloud
`
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Fatal("ANSI codes in plain output")
	}
}
