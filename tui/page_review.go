package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
)

// reviewPage shows the site and the plan per host, what will change and
// how long it may take, and writes the site file on confirmation.
type reviewPage struct {
	plan    *PlanSummary
	planErr error
	valErr  error
	scroll  int
	saveErr error
}

type planMsg struct {
	ps  PlanSummary
	err error
}

type savedMsg struct {
	err error
	run bool
}

func (p *reviewPage) name() string { return "Review" }

func (p *reviewPage) enter(w *wizard) tea.Cmd {
	p.valErr = w.be.Validate(w.d.withDefaults())
	if p.valErr != nil {
		return nil
	}
	ctx, be, s, sec := w.ctx, w.be, w.d.withDefaults(), w.d.secrets()
	return tea.Batch(w.wait("checking the hosts' live state (nothing is changed)…"), func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		ps, err := be.Plan(ctx, s, sec)
		return planMsg{ps, err}
	})
}

func (p *reviewPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case planMsg:
		w.busy = ""
		p.planErr = msg.err
		if msg.err == nil {
			p.plan = &msg.ps
		}
	case savedMsg:
		w.busy = ""
		if msg.err != nil {
			p.saveErr = msg.err
			return nil
		}
		w.saved = true
		if !msg.run {
			return w.quit()
		}
		var est time.Duration
		if p.plan != nil {
			est = p.plan.Estimate
		}
		return w.startRun(est)
	case tea.KeyMsg:
		if w.busy != "" && msg.String() != "esc" {
			return nil
		}
		switch msg.String() {
		case "enter", "y":
			if p.valErr != nil {
				return nil
			}
			return p.save(w, true)
		case "s":
			if p.valErr != nil {
				return nil
			}
			return p.save(w, false)
		case "esc":
			return w.show(&advancedPage{})
		case "up", "k":
			p.scroll = max(p.scroll-1, 0)
		case "down", "j":
			p.scroll++
		case "pgup":
			p.scroll = max(p.scroll-10, 0)
		case "pgdown":
			p.scroll += 10
		}
	}
	return nil
}

// save writes the site file (and the typed passwords) through the backend.
func (p *reviewPage) save(w *wizard, run bool) tea.Cmd {
	be, s, sec, path := w.be, w.d.site(), w.d.secrets(), w.path
	p.saveErr = nil
	return tea.Batch(w.wait("writing "+path+"…"), func() tea.Msg {
		return savedMsg{be.Save(s, sec, path), run}
	})
}

func (p *reviewPage) view(w *wizard) string {
	var b strings.Builder
	row := func(l, text string) string {
		value := lipgloss.NewStyle().Width(max(w.width-12, 20)).Render(text)
		return lipgloss.JoinHorizontal(lipgloss.Top, w.th.Subtitle.Render(fmt.Sprintf("%-11s", l)), value) + "\n"
	}
	b.WriteString(row("Site file", w.path+w.th.Muted.Render(" (mode 0600, written before the install starts)")))
	b.WriteString(row("Site", w.d.summary()))
	b.WriteString(row("Components", w.d.componentsLine()))
	b.WriteString(row("Advanced", advancedSummary(w.d)) + "\n")
	if p.valErr != nil {
		b.WriteString(w.th.Error.Render(iconFailed+" the site is not complete:") + "\n" + w.wrap(p.valErr.Error()) + "\n")
		return b.String()
	}
	if p.saveErr != nil {
		b.WriteString(w.errLine(p.saveErr) + "\n\n")
	}
	var lines []string
	switch {
	case p.planErr != nil:
		lines = append(lines, w.th.Warn.Render(iconWarn+" the hosts could not be checked: "+errWithHint(p.planErr)),
			"The install checks every step again before it changes anything.")
	case p.plan != nil:
		lines = p.planLines(w)
	}
	room := max(w.height-14, 4)
	p.scroll = max(0, min(p.scroll, len(lines)-room))
	end := min(len(lines), p.scroll+room)
	if p.scroll > 0 {
		b.WriteString(w.th.Muted.Render("↑ more") + "\n")
	}
	b.WriteString(strings.Join(lines[p.scroll:end], "\n"))
	if end < len(lines) {
		b.WriteString("\n" + w.th.Muted.Render("↓ more"))
	}
	return b.String()
}

func (p *reviewPage) planLines(w *wizard) []string {
	var lines []string
	changes, total := 0, 0
	for _, hp := range p.plan.Hosts {
		n := 0
		for _, s := range hp.Steps {
			if s.Change || s.Unknown {
				n++
			}
		}
		changes += n
		total += len(hp.Steps)
		lines = append(lines, w.th.Subtitle.Render(hp.Host)+w.th.Muted.Render(fmt.Sprintf(" · %d steps, %d to do", len(hp.Steps), n)))
		done := 0
		for _, s := range hp.Steps {
			switch {
			case s.Unknown:
				lines = append(lines, "  "+w.th.Warn.Render("?")+" "+s.Title)
			case s.Change:
				lines = append(lines, "  "+w.th.Accent.Render("~")+" "+s.Title)
			default:
				done++
			}
		}
		if done > 0 {
			lines = append(lines, "  "+w.th.OK.Render(iconDone)+" "+w.th.Muted.Render(fmt.Sprintf("%d step(s) already done", done)))
		}
	}
	summary := fmt.Sprintf("%d of %d steps to do", changes, total)
	if p.plan.Estimate > 0 {
		summary += fmt.Sprintf(", about %s", roundDur(p.plan.Estimate))
	}
	head := []string{
		w.th.Subtitle.Render("Plan") + w.th.Muted.Render(" · "+summary),
		w.th.Muted.Render("~ will change   ? not readable yet (created or reached during the run)   " + iconDone + " already done"),
		"",
	}
	return append(head, lines...)
}

func (p *reviewPage) help(w *wizard) string {
	if p.valErr != nil {
		return "esc back · ctrl+c quit"
	}
	return "enter write the site file and install · s write it only · ↑/↓ scroll · esc back"
}

// runPage is the run view inside the wizard.
type runPage struct{ rv *runView }

func (p *runPage) name() string                          { return "Install" }
func (p *runPage) enter(w *wizard) tea.Cmd               { return p.rv.Init() }
func (p *runPage) view(w *wizard) string                 { return p.rv.View() }
func (p *runPage) help(w *wizard) string                 { return "" }
func (p *runPage) update(w *wizard, msg tea.Msg) tea.Cmd { _, cmd := p.rv.Update(msg); return cmd }

// startRun shows the run view and starts the apply of the site file.
func (w *wizard) startRun(estimate time.Duration) tea.Cmd {
	w.ran = true
	w.run = newRunView(w.ctx, w.th, w.be, w.path, estimate)
	w.run.width, w.run.height = w.width, w.height
	return w.show(&runPage{rv: w.run})
}
