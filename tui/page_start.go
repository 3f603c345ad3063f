package tui

import (
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
)

// Choices of the start page.
const (
	startResume = "resume"
	startAdd    = "add"
	startNew    = "new"
)

// startPage offers what to do with a site file found at the path.
type startPage struct {
	form   *huh.Form
	choice string
}

func (p *startPage) name() string { return "Start" }

func (p *startPage) enter(w *wizard) tea.Cmd {
	p.form = w.newForm(huh.NewGroup(
		huh.NewSelect[string]().Title("What do you want to do?").
			Options(startOptions(w.existing)...).Value(&p.choice),
	))
	return p.form.Init()
}

// startOptions are the choices for an existing site, the resume first when
// the last run did not finish.
func startOptions(e *ExistingSite) []huh.Option[string] {
	var opts []huh.Option[string]
	if e.Interrupted || e.Failed {
		opts = append(opts, huh.NewOption("Resume the unfinished install", startResume))
	} else {
		opts = append(opts, huh.NewOption("Run the install again (checks and repairs)", startResume))
	}
	return append(opts,
		huh.NewOption("Add components to this site", startAdd),
		huh.NewOption("Start a new site (replaces the file when you confirm)", startNew),
	)
}

// existingText describes the site found.
func existingText(path string, e *ExistingSite) string {
	s := e.Site
	text := fmt.Sprintf("A site file is already at %s:\n  %s, topology %s, %d host(s), %d component(s).\n",
		path, s.Domain, s.Topology, len(s.Hosts), len(s.Components))
	switch {
	case e.LastRun.IsZero():
		text += "  It was never applied."
	case e.Interrupted:
		text += fmt.Sprintf("  The install started %s was interrupted after %d of %d steps.", e.LastRun.Local().Format(time.DateTime), e.Done, e.Total)
	case e.Failed:
		text += fmt.Sprintf("  The install of %s stopped with failures after %d of %d steps.", e.LastRun.Local().Format(time.DateTime), e.Done, e.Total)
	default:
		text += fmt.Sprintf("  The last install (%s) finished: %d steps.", e.LastRun.Local().Format(time.DateTime), e.Total)
	}
	return text
}

func (p *startPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	m, cmd := p.form.Update(msg)
	p.form = m.(*huh.Form)
	if p.form.State != huh.StateCompleted {
		return cmd
	}
	switch p.choice {
	case startResume:
		return w.startRun(0)
	case startAdd:
		w.d = draftFrom(w.existing.Site, w.be.Catalog())
		return w.show(&componentsPage{probe: true})
	default:
		return w.show(&topologyPage{})
	}
}

func (p *startPage) view(w *wizard) string {
	return w.wrap(existingText(w.path, w.existing)) + "\n\n" + formView(p.form)
}

func (p *startPage) help(w *wizard) string { return "↑/↓ choose · enter confirm · ctrl+c quit" }

func (p *startPage) currentForm() *huh.Form { return p.form }
func (p *startPage) formReserve() int       { return 5 }
