package tui

import (
	"errors"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/engine"
)

// A convergence failure carries the task errors and log lines after its
// first line: they are printed as output lines, not joined into one.
func TestPlainPrinterShowsAFailuresLinesUnderIt(t *testing.T) {
	var b strings.Builder
	emit := PlainPrinter(&b)
	emit(engine.Event{Kind: engine.RunStarted, Total: 1})
	emit(engine.Event{Kind: engine.StepFailed, Title: "Deploy Etherpad", Host: "lab-1",
		Err: errors.New("etherpad_etherpad is not running after 5m0s: task: non-zero exit (1)\nlast log lines of etherpad_etherpad:\n  | npm ERR! 404 ep_missing"), Hint: "fix it"})
	want := "[  1/1] FAILED  Deploy Etherpad on lab-1: etherpad_etherpad is not running after 5m0s: task: non-zero exit (1)\n" +
		"        | last log lines of etherpad_etherpad:\n" +
		"        |   | npm ERR! 404 ep_missing\n" +
		"        hint: fix it\n"
	if got := b.String(); !strings.HasSuffix(got, want) {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
