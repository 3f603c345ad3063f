package tui

import (
	"strconv"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"

	"github.com/collabstack/collabstack/steps/site"
)

// topologyPage asks what machines the site runs on, explaining and
// drawing the one under the cursor.
type topologyPage struct {
	form *huh.Form
}

func (p *topologyPage) name() string { return "Topology" }

func (p *topologyPage) enter(w *wizard) tea.Cmd {
	if w.d.topology == "" {
		w.d.topology = site.TopologyLab
	}
	opts := make([]huh.Option[string], len(topologies))
	for i, t := range topologies {
		opts[i] = huh.NewOption(t.Title, t.Name)
	}
	p.form = w.newForm(huh.NewGroup(
		huh.NewSelect[string]().Title("Where does the site run?").Options(opts...).Value(&w.d.topology),
	))
	return p.form.Init()
}

func (p *topologyPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && k.String() == "esc" && w.existing != nil {
		return w.show(&startPage{})
	}
	m, cmd := p.form.Update(msg)
	p.form = m.(*huh.Form)
	if p.form.State != huh.StateCompleted {
		return cmd
	}
	if w.d.tls == "" || w.d.domain == "" {
		w.d.tls = site.TLSLetsEncrypt
		if w.d.topology == site.TopologyLab {
			w.d.tls = site.TLSSelfSigned
		}
	}
	if w.d.topology == site.TopologyLab {
		return w.show(&labPage{})
	}
	return w.show(&hostsPage{})
}

func (p *topologyPage) view(w *wizard) string {
	t := topologyOf(w.d.topology)
	info := w.th.Box.Width(w.formWidth() - 2).Render(
		w.th.Subtitle.Render(t.Title) + "\n" + t.Explain + "\n\n" + w.th.Drawing.Render(t.Drawing))
	out := formView(p.form) + "\n\n" + info
	if w.existingErr != nil {
		out = w.th.Warn.Render(w.wrap(iconWarn+" The file at "+w.path+" cannot be read ("+w.existingErr.Error()+"); a new site replaces it when you confirm.")) + "\n\n" + out
	}
	return out
}

func (p *topologyPage) help(w *wizard) string {
	if w.existing != nil {
		return "↑/↓ choose · enter confirm · esc back · ctrl+c quit"
	}
	return "↑/↓ choose · enter confirm · ctrl+c quit"
}

// labPage asks how many lab nodes to start.
type labPage struct {
	form  *huh.Form
	nodes string
}

// localFactsMsg carries the facts of this machine.
type localFactsMsg struct {
	f   HostFacts
	err error
}

func (p *labPage) name() string { return "Hosts" }

func (p *labPage) enter(w *wizard) tea.Cmd {
	p.nodes = strconv.Itoa(w.d.labNodes)
	p.form = w.newForm(huh.NewGroup(
		w.liveInput("How many lab nodes?", "1 to 9 containers; 2 make a manager and a worker", &p.nodes, checkLabNodes).CharLimit(1),
	))
	return tea.Batch(p.form.Init(), w.fetchLocalFacts())
}

// fetchLocalFacts reads this machine's facts once, for the lab's budget.
func (w *wizard) fetchLocalFacts() tea.Cmd {
	if w.d.localFacts != nil {
		return nil
	}
	ctx, be := w.ctx, w.be
	return func() tea.Msg {
		f, err := be.LocalFacts(ctx)
		return localFactsMsg{f, err}
	}
}

func (p *labPage) update(w *wizard, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case localFactsMsg:
		if msg.err == nil {
			w.d.localFacts = &msg.f
		}
		return nil
	case tea.KeyMsg:
		if msg.String() == "esc" {
			return w.show(&topologyPage{})
		}
	}
	m, cmd := p.form.Update(msg)
	p.form = m.(*huh.Form)
	if p.form.State != huh.StateCompleted {
		return cmd
	}
	w.d.labNodes, _ = strconv.Atoi(p.nodes)
	return w.show(&domainPage{})
}

func (p *labPage) view(w *wizard) string {
	text := "The lab runs on this machine"
	if f := w.d.localFacts; f != nil {
		text += ": " + factsLine(*f)
	}
	return formView(p.form) + "\n\n" + w.th.Muted.Render(w.wrap(text+"."))
}

func (p *labPage) help(w *wizard) string { return "enter next · esc back · ctrl+c quit" }

func (p *topologyPage) currentForm() *huh.Form { return p.form }
func (p *topologyPage) formReserve() int       { return 12 }

func (p *labPage) currentForm() *huh.Form { return p.form }
func (p *labPage) formReserve() int       { return 3 }
