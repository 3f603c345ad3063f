package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// ErrAborted is returned when the user leaves the wizard before anything
// was written (exit code 130).
var ErrAborted = errors.New("the wizard was left before writing the site file; nothing was changed")

// page is one screen of the wizard.
type page interface {
	// enter is called when the page is shown.
	enter(w *wizard) tea.Cmd
	// update handles a message while the page is shown.
	update(w *wizard, msg tea.Msg) tea.Cmd
	view(w *wizard) string
	help(w *wizard) string
	// name is the page's title in the header.
	name() string
}

// formPage is a page showing a huh form, resized with the terminal.
type formPage interface {
	currentForm() *huh.Form
	// formReserve is the number of lines the page draws besides the form.
	formReserve() int
}

// Pages in order; the header shows where the user is.
var pageOrder = []string{"Start", "Topology", "Hosts", "Domain", "Components", "Advanced", "Review", "Install"}

// pageStep counts a page shown only sometimes as a step of pageOrder.
var pageStep = map[string]string{"Administrator": "Components"}

// wizard is the full-screen wizard: a page at a time, then the run view.
type wizard struct {
	ctx      context.Context
	be       Backend
	th       *theme
	path     string
	d        *draft
	existing *ExistingSite
	// existingErr: a file is at the path but cannot be read.
	existingErr error

	page          page
	width, height int
	spin          spinner.Model
	busy          string // what the wizard waits for ("" when idle)

	// Outcome.
	saved    bool // the site file was written
	ran      bool
	runErr   error
	aborted  bool
	run      *runView
	quitting bool

	// first is shown instead of looking for a site file (tests, docs).
	first page
}

func newWizard(ctx context.Context, be Backend, th *theme, path string) *wizard {
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	sp.Style = th.Accent
	return &wizard{ctx: ctx, be: be, th: th, path: path, width: 80, height: 24, spin: sp}
}

// existingMsg carries what Backend.Existing found.
type existingMsg struct {
	e   *ExistingSite
	err error
}

// Init looks for an existing site first.
func (w *wizard) Init() tea.Cmd {
	if w.first != nil {
		if w.d == nil {
			w.d = newDraft(w.be.Catalog())
		}
		return w.show(w.first)
	}
	be, path := w.be, w.path
	return func() tea.Msg {
		e, err := be.Existing(path)
		return existingMsg{e, err}
	}
}

// Update routes messages to the page shown.
func (w *wizard) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		w.width, w.height = msg.Width, msg.Height
		if fp, ok := w.page.(formPage); ok && fp.currentForm() != nil {
			fp.currentForm().WithWidth(w.formWidth()).WithHeight(w.formHeight())
		}
	case existingMsg:
		w.d = newDraft(w.be.Catalog())
		w.existingErr = msg.err
		if msg.err != nil || msg.e == nil || msg.e.Site == nil {
			return w, w.show(&topologyPage{})
		}
		w.existing = msg.e
		return w, w.show(&startPage{})
	case tea.KeyMsg:
		if msg.String() == "ctrl+c" && w.run == nil {
			w.aborted = true
			return w, w.quit()
		}
	case spinner.TickMsg:
		if msg.ID == w.spin.ID() {
			if w.busy == "" {
				return w, nil
			}
			var cmd tea.Cmd
			w.spin, cmd = w.spin.Update(msg)
			return w, cmd
		}
	case runLeaveMsg:
		w.runErr = w.run.runErr
		if w.run.interrupted && w.runErr == nil {
			w.runErr = context.Canceled
		}
		return w, w.quit()
	}
	if w.page == nil {
		return w, nil
	}
	return w, w.page.update(w, msg)
}

func (w *wizard) quit() tea.Cmd {
	w.quitting = true
	return tea.Quit
}

// show switches to p.
func (w *wizard) show(p page) tea.Cmd {
	w.page = p
	w.busy = ""
	return p.enter(w)
}

// wait shows a spinner with what the wizard waits for.
func (w *wizard) wait(what string) tea.Cmd {
	start := w.busy == ""
	w.busy = what
	if start {
		return w.spin.Tick
	}
	return nil
}

// formWidth is the width forms get.
func (w *wizard) formWidth() int { return max(min(w.width-2, 80), 30) }

// View draws the header, the page and its help line.
func (w *wizard) View() string {
	if w.quitting {
		return ""
	}
	if w.page == nil {
		return w.th.Muted.Render("looking for a site file at " + w.path + "…")
	}
	if rp, ok := w.page.(*runPage); ok {
		return rp.view(w)
	}
	head := w.header()
	help := w.th.Muted.Render(w.page.help(w))
	if w.busy != "" {
		help = w.spin.View() + " " + w.busy + "\n" + help
	}
	body := fitWidth(w.page.view(w), max(w.width, 20))
	bodyH := max(w.height-lipgloss.Height(head)-lipgloss.Height(help)-2, 3)
	body = lipgloss.NewStyle().MaxHeight(bodyH).Render(body)
	gap := max(bodyH-lipgloss.Height(body), 0)
	return head + "\n\n" + body + strings.Repeat("\n", gap) + "\n" + help
}

func (w *wizard) header() string {
	name := w.page.name()
	n, at := 0, 0
	order := pageOrder
	if w.existing == nil {
		order = order[1:]
	}
	for i, p := range order {
		if p == name || p == pageStep[name] {
			at = i + 1
		}
		n = len(order)
	}
	left := w.th.Title.Render("collabstack") + w.th.Muted.Render(" · "+w.path)
	right := w.th.Subtitle.Render(name)
	if at > 0 {
		right = w.th.Muted.Render(fmt.Sprintf("%d/%d ", at, n)) + right
	}
	width := max(w.width, 40)
	pad := width - ansi.StringWidth(left) - ansi.StringWidth(right)
	if pad < 1 {
		return ansi.Truncate(left, width, "…") + "\n" + right
	}
	rule := w.th.Muted.Render(strings.Repeat("─", width))
	return left + strings.Repeat(" ", pad) + right + "\n" + rule
}

// errLine renders an error with its fix on the wizard's error style.
func (w *wizard) errLine(err error) string {
	if err == nil {
		return ""
	}
	return w.th.Error.Render(iconFailed + " " + err.Error())
}

// wrap wraps text to the form width.
func (w *wizard) wrap(s string) string {
	return lipgloss.NewStyle().Width(w.formWidth()).Render(s)
}

// fitWidth cuts every line to width cells, so a long line never wraps on
// the terminal and shifts the screen.
func fitWidth(s string, width int) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if ansi.StringWidth(l) > width {
			lines[i] = ansi.Truncate(l, width, "…")
		}
	}
	return strings.Join(lines, "\n")
}
