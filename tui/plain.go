package tui

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/collabstack/collabstack/steps/engine"
)

// PlainPrinter returns an emit function that writes engine events to w as
// plain lines without ANSI codes, for logs, pipes and screen readers:
//
//	        start   Install packages on main
//	        | Setting up docker.io (26.1.5) ...
//	[  3/40] ok      Install packages on main (12.3s)
//	[  4/40] done    Time sync on main (0.2s)
//	[  5/40] FAILED  Join the swarm on worker-1: connection refused
//	        hint: check that port 2377 is open between the hosts
//	[  6/40] blocked Deploy nextcloud
//
// "ok" means the step changed something, "done" that it was already done.
// It is safe for concurrent use.
func PlainPrinter(w io.Writer) func(engine.Event) {
	p := &plainPrinter{w: w}
	return p.event
}

type plainPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	total int
	n     int
}

func (p *plainPrinter) event(e engine.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Kind {
	case engine.RunStarted:
		p.total, p.n = e.Total, 0
		fmt.Fprintf(p.w, "run: %d steps\n", e.Total)
	case engine.StepStarted:
		fmt.Fprintf(p.w, "        start   %s%s\n", oneLine(e.Title), on(e.Title, e.Host))
	case engine.StepOutput:
		fmt.Fprintf(p.w, "        | %s\n", oneLine(e.Line))
	case engine.StepDone:
		p.n++
		state := "ok"
		if !e.Changed {
			state = "done"
		}
		fmt.Fprintf(p.w, "%s %-7s %s%s (%s)\n", p.count(), state, oneLine(e.Title), on(e.Title, e.Host), e.Elapsed.Round(1e6))
	case engine.StepFailed:
		p.n++
		// A failure's first line says what failed; the lines after it
		// (a service's task errors and last log lines) follow as output.
		first, rest, _ := strings.Cut(errText(e.Err), "\n")
		fmt.Fprintf(p.w, "%s FAILED  %s%s: %s\n", p.count(), oneLine(e.Title), on(e.Title, e.Host), oneLine(first))
		if rest != "" {
			for _, l := range strings.Split(rest, "\n") {
				fmt.Fprintf(p.w, "        | %s\n", oneLine(l))
			}
		}
		hint := e.Hint
		if hint == "" {
			hint = engine.HintOf(e.Err)
		}
		if hint != "" {
			fmt.Fprintf(p.w, "        hint: %s\n", oneLine(hint))
		}
	case engine.StepBlocked:
		p.n++
		fmt.Fprintf(p.w, "%s blocked %s%s\n", p.count(), oneLine(e.Title), on(e.Title, e.Host))
	case engine.StepPlanned:
		state := "would change"
		switch {
		case e.Unknown:
			state = "unknown"
		case !e.Changed:
			state = "done"
		}
		fmt.Fprintf(p.w, "        %-12s %s%s\n", state, oneLine(e.Title), on(e.Title, e.Host))
	}
}

func (p *plainPrinter) count() string {
	if p.total > 0 {
		return fmt.Sprintf("[%3d/%d]", p.n, p.total)
	}
	return fmt.Sprintf("[%3d]", p.n)
}

// on names the host unless the title already does.
func on(title, h string) string {
	if h == "" || strings.Contains(title, h) {
		return ""
	}
	return " on " + h
}

// oneLine keeps a text on one line and strips terminal control codes, so
// the plain output never carries ANSI sequences from remote commands.
func oneLine(s string) string {
	s = stripControl(s)
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", ""), "\n", " ⏎ ")
}

// stripControl removes ANSI escape sequences and other control characters
// except newlines and tabs.
func stripControl(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r == 0x9b }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			// CSI: parameters, then a final byte 0x40–0x7e.
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
		case c == 0x1b && i+1 < len(s) && s[i+1] == ']':
			// OSC: up to BEL or ESC \.
			i += 2
			for i < len(s) && s[i] != 0x07 && !(s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\') {
				i++
			}
			if i < len(s) && s[i] == 0x1b {
				i++
			}
		case c == 0x1b:
			i++ // a two-byte escape
		case c == '\n' || c == '\t':
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
