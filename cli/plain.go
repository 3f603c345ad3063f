package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/collabstack/collabstack/steps/engine"
)

// plainPrinter writes engine events as plain lines without ANSI codes.
type plainPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	n     int
}

func newPlainPrinter(w io.Writer) *plainPrinter { return &plainPrinter{w: w} }

func (p *plainPrinter) event(e engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case engine.RunStarted:
		p.total = e.Total
	case engine.StepStarted:
		fmt.Fprintf(p.w, "        start   %s%s\n", e.Title, on(e.Title, e.Host))
	case engine.StepOutput:
		fmt.Fprintf(p.w, "        | %s\n", e.Line)
	case engine.StepDone:
		p.n++
		state := "ok"
		if !e.Changed {
			state = "done"
		}
		fmt.Fprintf(p.w, "[%3d/%d] %-7s %s%s (%s)\n", p.n, p.total, state, e.Title, on(e.Title, e.Host), e.Elapsed.Round(1e6))
	case engine.StepFailed:
		p.n++
		fmt.Fprintf(p.w, "[%3d/%d] FAILED  %s%s: %v\n", p.n, p.total, e.Title, on(e.Title, e.Host), e.Err)
		if e.Hint != "" {
			fmt.Fprintf(p.w, "        hint: %s\n", e.Hint)
		}
	case engine.StepBlocked:
		p.n++
		fmt.Fprintf(p.w, "[%3d/%d] blocked %s%s\n", p.n, p.total, e.Title, on(e.Title, e.Host))
	}
}

// on names the host unless the title already does.
func on(title, h string) string {
	if h == "" || strings.Contains(title, h) {
		return ""
	}
	return " on " + h
}
