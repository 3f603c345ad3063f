package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/term"

	"github.com/collabstack/collabstack/steps/engine"
)

// Options say where the wizard and the run view draw and read.
type Options struct {
	// Backend does all remote work (cli implements it).
	Backend Backend
	// SitePath is where the site file is looked for and written
	// (default collabstack.yaml).
	SitePath string
	// In and Out are the terminal (default os.Stdin, os.Stdout).
	In  io.Reader
	Out io.Writer
	// Plain asks line by line and prints the run as plain lines, without
	// ANSI codes. It is also used when In or Out is not a terminal.
	Plain bool
	// Accessible is the mode for screen readers (huh's accessible mode):
	// the same line-by-line questions as Plain.
	Accessible bool
	// ProgramOptions are added to the bubbletea program (tests).
	ProgramOptions []tea.ProgramOption
}

func (o Options) withDefaults() Options {
	if o.SitePath == "" {
		o.SitePath = "collabstack.yaml"
	}
	if o.In == nil {
		o.In = os.Stdin
	}
	if o.Out == nil {
		o.Out = os.Stdout
	}
	return o
}

// plain reports whether to ask and print line by line.
func (o Options) plain() bool {
	return o.Plain || o.Accessible || !isTerminal(o.In) || !isTerminal(o.Out)
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// RunWizard asks for a site (or what to do with the one at SitePath),
// writes the site file (0600) and the typed passwords through the
// backend, then runs the install in the run view. It returns the site
// file's path ("" when nothing was written) and:
//   - ErrAborted when the user left before anything was written;
//   - the run's error when the install failed or was stopped (the journal
//     keeps the state; `collabstack apply` resumes);
//   - nil when the install finished, or the user chose to write the site
//     file only.
func RunWizard(ctx context.Context, o Options) (string, error) {
	o = o.withDefaults()
	if o.Backend == nil {
		return "", errors.New("tui: no backend")
	}
	if o.plain() {
		return runPlainWizard(ctx, o)
	}
	th := terminalTheme(o.Out)
	w := newWizard(ctx, o.Backend, th, o.SitePath)
	opts := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.In), tea.WithOutput(o.Out), tea.WithAltScreen()}, o.ProgramOptions...)
	_, err := tea.NewProgram(w, opts...).Run()
	if w.run != nil {
		w.run.release()
	}
	path := ""
	if w.saved || w.ran {
		path = o.SitePath
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrInterrupted) {
		return path, fmt.Errorf("the wizard's terminal: %w", err)
	}
	switch {
	case w.ran:
		runErr := w.runErr
		if runErr == nil && (err != nil || w.run.phase != phaseFinished) {
			runErr = context.Canceled
		}
		if runErr == nil {
			fmt.Fprint(o.Out, resultText(o.SitePath, w.run.result))
		} else {
			fmt.Fprint(o.Out, resumeText(o.SitePath, runErr))
		}
		return path, runErr
	case w.saved:
		fmt.Fprintf(o.Out, "Wrote %s. Install with: collabstack apply -c %s\n", o.SitePath, o.SitePath)
		return path, nil
	}
	return "", ErrAborted
}

// RunApply shows the run view of an apply of the site file at sitePath
// (`collabstack apply` on a terminal), or plain lines when Options ask for
// them or there is no terminal. It returns what the run returned.
func RunApply(ctx context.Context, o Options, sitePath string) (Result, error) {
	o = o.withDefaults()
	if o.Backend == nil {
		return Result{}, errors.New("tui: no backend")
	}
	if o.plain() {
		res, err := o.Backend.Run(ctx, sitePath, PlainPrinter(o.Out))
		if err == nil {
			fmt.Fprint(o.Out, resultText(sitePath, res))
		} else {
			fmt.Fprint(o.Out, resumeText(sitePath, err))
		}
		return res, err
	}
	th := terminalTheme(o.Out)
	m := &applyModel{rv: newRunView(ctx, th, o.Backend, sitePath, 0)}
	opts := append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithInput(o.In), tea.WithOutput(o.Out), tea.WithAltScreen()}, o.ProgramOptions...)
	_, err := tea.NewProgram(m, opts...).Run()
	m.rv.release()
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrInterrupted) {
		return Result{}, fmt.Errorf("the run view's terminal: %w", err)
	}
	runErr := m.rv.runErr
	if runErr == nil && (m.rv.interrupted || m.rv.phase != phaseFinished) {
		runErr = context.Canceled
	}
	if runErr == nil {
		fmt.Fprint(o.Out, resultText(sitePath, m.rv.result))
	} else {
		fmt.Fprint(o.Out, resumeText(sitePath, runErr))
	}
	return m.rv.result, runErr
}

// terminalTheme makes the theme for the terminal out, asking it for its
// background before the program starts reading keys (an answer arriving
// later would be read as keys). huh's theme draws with lipgloss's default
// renderer, which is asked too.
func terminalTheme(out io.Writer) *theme {
	r := lipgloss.NewRenderer(out)
	r.HasDarkBackground()
	lipgloss.HasDarkBackground()
	return newTheme(r)
}

// applyModel is the run view as a program of its own.
type applyModel struct{ rv *runView }

func (m *applyModel) Init() tea.Cmd { return m.rv.Init() }

func (m *applyModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(runLeaveMsg); ok {
		return m, tea.Quit
	}
	_, cmd := m.rv.Update(msg)
	return m, cmd
}

func (m *applyModel) View() string {
	if m.rv.quit {
		return ""
	}
	return m.rv.View()
}

// resultText is the end of a successful run, left on the terminal after
// the full-screen view closes.
func resultText(path string, r Result) string {
	var b strings.Builder
	b.WriteString("Installed.\n")
	names := make([]string, 0, len(r.URLs))
	for n := range r.URLs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, r.URLs[n])
	}
	if r.SecretsPath != "" {
		fmt.Fprintf(&b, "Credentials are in %s (mode 0600).\n", r.SecretsPath)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "Note: %s\n", n)
	}
	return b.String()
}

// resumeText says how to go on after a failed or stopped run.
func resumeText(path string, err error) string {
	var b strings.Builder
	if errors.Is(err, context.Canceled) {
		b.WriteString("Stopped. What was done stays done; the journal records it.\n")
	} else {
		fmt.Fprintf(&b, "The install did not finish: %s\n", oneLine(err.Error()))
		if h := engine.HintOf(err); h != "" {
			fmt.Fprintf(&b, "hint: %s\n", oneLine(h))
		}
	}
	fmt.Fprintf(&b, "Resume with: collabstack apply -c %s\n", path)
	return b.String()
}
