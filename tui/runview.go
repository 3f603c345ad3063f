package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/collabstack/collabstack/steps/engine"
)

// Bounds of the log memory: lines per step, lines over all steps, and the
// length of one line.
const (
	logLinesPerStep = 500
	logLinesTotal   = 5000
	logLineMax      = 1000
	eventBuffer     = 1024
	eventBatch      = 512
)

// stepState is one step as the run view shows it.
type stepState struct {
	ID, Title, Host string
	State           engine.Kind // StepStarted while running
	Changed         bool
	Err             error
	Hint            string
	Elapsed         time.Duration
	Started         time.Time
	Done, Total     int // progress within the step
	log             *ring
}

func (s *stepState) running() bool { return s.State == engine.StepStarted }

// runPhase is where the run is.
type runPhase int

const (
	phaseRunning  runPhase = iota
	phaseStopping          // Ctrl-C confirmed, waiting for the steps to stop
	phaseFinished
)

// runView shows an apply: the steps, the progress, the log of the
// selected step, a failure panel and, at the end, where everything is.
type runView struct {
	th       *theme
	be       Backend
	path     string
	parent   context.Context
	cancel   context.CancelFunc
	events   chan engine.Event
	finished chan runDoneMsg
	stop     chan struct{} // closed when the view goes away: emit stops waiting
	now      func() time.Time

	steps     []*stepState
	byID      map[string]*stepState
	total     int
	finishedN int
	started   time.Time
	estimate  time.Duration
	logTotal  int
	// finishedOrder is the order steps ended, to trim the oldest logs.
	finishedOrder []*stepState

	selected  int
	follow    bool // the selection follows the newest running step
	logScroll int  // lines scrolled up from the newest
	listTop   int

	phase       runPhase
	confirmQuit bool
	interrupted bool
	runErr      error
	result      Result
	runs        int

	spin          spinner.Model
	width, height int
	quit          bool // the user left the view
}

// runDoneMsg ends a run; events are the ones still queued.
type runDoneMsg struct {
	res    Result
	err    error
	events []engine.Event
}

// eventsMsg is a batch of engine events.
type eventsMsg []engine.Event

// runLeaveMsg tells the parent the user left the run view.
type runLeaveMsg struct{}

func newRunView(ctx context.Context, th *theme, be Backend, path string, estimate time.Duration) *runView {
	sp := spinner.New(spinner.WithSpinner(spinner.MiniDot))
	sp.Style = th.Accent
	return &runView{
		th: th, be: be, path: path, parent: ctx, estimate: estimate,
		now: time.Now, byID: map[string]*stepState{}, follow: true,
		spin: sp, width: 80, height: 24,
	}
}

// Init starts the run.
func (m *runView) Init() tea.Cmd { return tea.Batch(m.startRun(), m.spin.Tick) }

func (m *runView) startRun() tea.Cmd {
	m.reset()
	ctx, cancel := context.WithCancel(m.parent)
	m.cancel = cancel
	m.events = make(chan engine.Event, eventBuffer)
	m.finished = make(chan runDoneMsg, 1)
	if m.stop == nil {
		m.stop = make(chan struct{})
	}
	events, finished, stop := m.events, m.finished, m.stop
	emit := func(e engine.Event) {
		select {
		case events <- e:
		case <-stop:
		}
	}
	be, path := m.be, m.path
	go func() {
		res, err := be.Run(ctx, path, emit)
		finished <- runDoneMsg{res: res, err: err}
	}()
	m.runs++
	return waitEvents(events, finished)
}

// waitEvents reads the next batch of events, or the end of the run.
func waitEvents(events chan engine.Event, finished chan runDoneMsg) tea.Cmd {
	return func() tea.Msg {
		select {
		case e := <-events:
			batch := []engine.Event{e}
			for len(batch) < eventBatch {
				select {
				case e := <-events:
					batch = append(batch, e)
				default:
					return eventsMsg(batch)
				}
			}
			return eventsMsg(batch)
		case done := <-finished:
			for {
				select {
				case e := <-events:
					done.events = append(done.events, e)
				default:
					return done
				}
			}
		}
	}
}

func (m *runView) reset() {
	m.steps, m.byID = nil, map[string]*stepState{}
	m.total, m.finishedN, m.logTotal = 0, 0, 0
	m.finishedOrder = nil
	m.selected, m.follow, m.logScroll, m.listTop = 0, true, 0, 0
	m.phase, m.confirmQuit, m.interrupted, m.runErr = phaseRunning, false, false, nil
	m.started = m.now()
}

// Update handles events, keys and the size of the terminal.
func (m *runView) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case eventsMsg:
		for _, e := range msg {
			m.apply(e)
		}
		return m, waitEvents(m.events, m.finished)
	case runDoneMsg:
		for _, e := range msg.events {
			m.apply(e)
		}
		m.phase = phaseFinished
		m.result, m.runErr = msg.res, msg.err
		if m.cancel != nil {
			m.cancel()
		}
		if msg.err != nil && (errors.Is(msg.err, context.Canceled) || m.interrupted) {
			m.interrupted = true
		}
		for i, s := range m.steps {
			if s.running() {
				s.State = engine.StepBlocked
			}
			if s.State == engine.StepFailed && m.follow {
				m.selected = i
			}
		}
		return m, nil
	case spinner.TickMsg:
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		if m.phase == phaseFinished {
			return m, nil
		}
		return m, cmd
	case tea.KeyMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *runView) key(k tea.KeyMsg) tea.Cmd {
	if m.confirmQuit {
		switch k.String() {
		case "y", "Y":
			m.confirmQuit = false
			m.interrupted = true
			m.phase = phaseStopping
			if m.cancel != nil {
				m.cancel()
			}
		case "ctrl+c":
			// A second Ctrl-C leaves at once; the journal is consistent
			// after every record.
			m.confirmQuit = false
			if m.cancel != nil {
				m.cancel()
			}
			return m.leave()
		case "n", "N", "esc":
			m.confirmQuit = false
		}
		return nil
	}
	switch k.String() {
	case "ctrl+c":
		switch m.phase {
		case phaseRunning:
			m.confirmQuit = true
		case phaseStopping:
			return m.leave()
		case phaseFinished:
			return m.leave()
		}
	case "q", "esc":
		if m.phase == phaseFinished {
			return m.leave()
		}
		if m.phase == phaseRunning {
			m.confirmQuit = true
		}
	case "r":
		if m.phase == phaseFinished && (m.runErr != nil || m.interrupted) {
			return tea.Batch(m.startRun(), m.spin.Tick)
		}
	case "up", "k":
		if m.selected > 0 {
			m.selected--
			m.follow, m.logScroll = false, 0
		}
	case "down", "j":
		if m.selected < len(m.steps)-1 {
			m.selected++
			m.follow, m.logScroll = false, 0
		}
	case "home", "g":
		m.selected, m.follow, m.logScroll = 0, false, 0
	case "end", "G":
		m.selected, m.follow, m.logScroll = max(0, len(m.steps)-1), false, 0
	case "f":
		m.follow, m.logScroll = true, 0
		m.selectNewest()
	case "pgup", "b":
		m.logScroll += m.logHeight() - 1
	case "pgdown", " ":
		m.logScroll = max(0, m.logScroll-(m.logHeight()-1))
	}
	return nil
}

func (m *runView) leave() tea.Cmd {
	m.quit = true
	return func() tea.Msg { return runLeaveMsg{} }
}

// releaseWait bounds how long leaving waits for the run to stop.
const releaseWait = 15 * time.Second

// release stops a run still going when the view goes away: it cancels the
// run, stops waiting on its events and gives it a moment to record where
// it stopped in the journal.
func (m *runView) release() {
	if m.cancel != nil {
		m.cancel()
	}
	if m.stop != nil {
		select {
		case <-m.stop:
		default:
			close(m.stop)
		}
	}
	if m.phase != phaseFinished && m.finished != nil {
		t := time.NewTimer(releaseWait)
		defer t.Stop()
		select {
		case done := <-m.finished:
			m.phase, m.result, m.runErr = phaseFinished, done.res, done.err
		case <-t.C:
		}
	}
}

// apply folds one engine event into the view.
func (m *runView) apply(e engine.Event) {
	switch e.Kind {
	case engine.RunStarted:
		m.total = e.Total
		if !e.Time.IsZero() {
			m.started = e.Time
		}
	case engine.StepStarted:
		s := m.step(e)
		s.State = engine.StepStarted
		s.Started = e.Time
		if m.follow {
			m.selectNewest()
		}
	case engine.StepOutput:
		s := m.step(e)
		m.addLog(s, e.Line)
	case engine.StepProgress:
		s := m.step(e)
		s.Done, s.Total = e.Done, e.Total
	case engine.StepDone, engine.StepFailed, engine.StepBlocked:
		s := m.step(e)
		s.State, s.Changed, s.Elapsed = e.Kind, e.Changed, e.Elapsed
		if e.Kind == engine.StepFailed {
			s.Err, s.Hint = e.Err, e.Hint
			if s.Hint == "" {
				s.Hint = engine.HintOf(e.Err)
			}
			if m.follow {
				m.selected = m.indexOf(s)
				m.follow = false
			}
		}
		m.finishedN++
		m.finishedOrder = append(m.finishedOrder, s)
		if m.follow {
			m.selectNewest()
		}
	case engine.RunFinished:
		if e.Err != nil && m.runErr == nil {
			m.runErr = e.Err
		}
	}
}

// step returns the state of e's step, adding it when new.
func (m *runView) step(e engine.Event) *stepState {
	if s, ok := m.byID[e.Step]; ok {
		if s.Title == "" {
			s.Title = e.Title
		}
		return s
	}
	s := &stepState{ID: e.Step, Title: e.Title, Host: e.Host, State: engine.StepPlanned}
	if s.Title == "" {
		s.Title = e.Step
	}
	m.byID[e.Step] = s
	m.steps = append(m.steps, s)
	return s
}

func (m *runView) indexOf(s *stepState) int {
	for i, x := range m.steps {
		if x == s {
			return i
		}
	}
	return 0
}

// selectNewest selects the newest running step, else the last one.
func (m *runView) selectNewest() {
	for i := len(m.steps) - 1; i >= 0; i-- {
		if m.steps[i].running() {
			m.selected = i
			return
		}
	}
	if len(m.steps) > 0 {
		m.selected = len(m.steps) - 1
	}
}

// addLog keeps a line of a step's output within the memory bounds.
func (m *runView) addLog(s *stepState, line string) {
	line = strings.ReplaceAll(stripControl(line), "\t", "    ")
	if len(line) > logLineMax {
		line = strings.ToValidUTF8(line[:logLineMax], "") + "…"
	}
	if s.log == nil {
		s.log = newRing(logLinesPerStep)
	}
	if !s.log.add(line) {
		m.logTotal++
	}
	// Over the total: drop the oldest lines of the steps that ended first,
	// then of the others.
	for m.logTotal > logLinesTotal {
		dropped := 0
		for _, old := range m.finishedOrder {
			if old.log != nil && old.log.len() > 0 && old != s {
				dropped = old.log.dropOldest(m.logTotal - logLinesTotal)
				break
			}
		}
		if dropped == 0 {
			for _, old := range m.steps {
				if old.log != nil && old.log.len() > 0 {
					dropped = old.log.dropOldest(m.logTotal - logLinesTotal)
					break
				}
			}
		}
		if dropped == 0 {
			break
		}
		m.logTotal -= dropped
	}
	// Forget the finished steps whose log is gone.
	for len(m.finishedOrder) > 0 && (m.finishedOrder[0].log == nil || m.finishedOrder[0].log.len() == 0) {
		m.finishedOrder = m.finishedOrder[1:]
	}
}

// counts returns how many steps are done, changed, failed, blocked.
func (m *runView) counts() (done, changed, failed, blocked int) {
	for _, s := range m.steps {
		switch s.State {
		case engine.StepDone:
			done++
			if s.Changed {
				changed++
			}
		case engine.StepFailed:
			failed++
		case engine.StepBlocked:
			blocked++
		}
	}
	return
}

// View draws the run.
func (m *runView) View() string {
	if m.phase == phaseFinished && m.runErr == nil && !m.interrupted {
		return m.finalView()
	}
	w := max(m.width, 40)
	header := m.headerView(w)
	help := m.helpView()
	bodyH := max(m.height-lipgloss.Height(header)-lipgloss.Height(help)-1, 6)
	var body string
	if m.confirmQuit {
		body = m.th.ErrBox.Width(min(w-4, 76)).Render(
			m.th.Subtitle.Render("Stop the install?") + "\n\n" +
				"The steps running now are cancelled. What is done stays done and the\n" +
				"journal records it; `collabstack apply -c " + m.path + "` resumes.\n\n" +
				m.th.Key.Render("y") + " stop   " + m.th.Key.Render("n") + " go on")
		body = lipgloss.Place(w, bodyH, lipgloss.Center, lipgloss.Center, body)
	} else if w >= 100 {
		listW := w * 2 / 5
		list := m.listView(listW, bodyH)
		right := m.detailView(w-listW-1, bodyH)
		body = lipgloss.JoinHorizontal(lipgloss.Top, list, " ", right)
	} else {
		listH := max(bodyH/2, 3)
		body = m.listView(w, listH) + "\n" + m.detailView(w, bodyH-listH-1)
	}
	return header + "\n" + body + "\n" + help
}

func (m *runView) headerView(w int) string {
	done, changed, failed, blocked := m.counts()
	title := "Installing"
	switch {
	case m.phase == phaseStopping:
		title = "Stopping…"
	case m.phase == phaseFinished && m.interrupted:
		title = "Stopped: resumable"
	case m.phase == phaseFinished && m.runErr != nil:
		title = "Finished with failures"
	}
	total := max(m.total, len(m.steps))
	pct := 0.0
	if total > 0 {
		pct = float64(m.finishedN) / float64(total)
	}
	barW := max(min(w-12, 60), 10)
	elapsed := m.now().Sub(m.started)
	if m.phase == phaseFinished {
		var last time.Time
		for _, s := range m.steps {
			if t := s.Started.Add(s.Elapsed); t.After(last) {
				last = t
			}
		}
		if !last.IsZero() && last.After(m.started) {
			elapsed = last.Sub(m.started)
		}
	}
	line1 := m.th.Title.Render(title) + m.th.Muted.Render("  "+m.path)
	line2 := m.th.OK.Render(bar(int(pct*1000), 1000, barW)) + fmt.Sprintf(" %d/%d", m.finishedN, total)
	stats := fmt.Sprintf("elapsed %s", roundDur(elapsed))
	if left := m.timeLeft(elapsed, total); left > 0 && m.phase == phaseRunning {
		stats += fmt.Sprintf(" · about %s left", roundDur(left))
	}
	stats += fmt.Sprintf(" · %d done (%d changed)", done, changed)
	if failed > 0 {
		stats += " · " + m.th.Error.Render(fmt.Sprintf("%d failed", failed))
	}
	if blocked > 0 {
		stats += fmt.Sprintf(" · %d blocked", blocked)
	}
	return ansi.Truncate(line1, w, "…") + "\n" + line2 + "\n" + ansi.Truncate(stats, w, "…")
}

// timeLeft estimates the rest of the run from the plan's estimate, or
// from the pace so far.
func (m *runView) timeLeft(elapsed time.Duration, total int) time.Duration {
	if m.estimate > 0 && elapsed < m.estimate {
		return m.estimate - elapsed
	}
	if m.finishedN > 0 && total > m.finishedN {
		return time.Duration(float64(elapsed) / float64(m.finishedN) * float64(total-m.finishedN))
	}
	return 0
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	default:
		d = d.Round(time.Second)
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}

func (m *runView) icon(s *stepState) string {
	switch s.State {
	case engine.StepStarted:
		return m.spin.View()
	case engine.StepDone:
		if s.Changed {
			return m.th.OK.Render(iconChanged)
		}
		return m.th.OK.Render(iconDone)
	case engine.StepFailed:
		return m.th.Error.Render(iconFailed)
	case engine.StepBlocked:
		return m.th.Warn.Render(iconBlocked)
	}
	return m.th.Muted.Render(iconPending)
}

// listView draws the steps, scrolled to keep the selection visible.
func (m *runView) listView(w, h int) string {
	if len(m.steps) == 0 {
		return lipgloss.NewStyle().Width(w).Height(h).Render(m.th.Muted.Render("waiting for the first step…"))
	}
	if m.selected < m.listTop {
		m.listTop = m.selected
	}
	if m.selected >= m.listTop+h {
		m.listTop = m.selected - h + 1
	}
	m.listTop = max(0, min(m.listTop, len(m.steps)-h))
	var b strings.Builder
	for i := m.listTop; i < len(m.steps) && i < m.listTop+h; i++ {
		s := m.steps[i]
		right := ""
		switch {
		case s.running() && s.Total > 0:
			right = fmt.Sprintf("%d/%d", s.Done, s.Total)
		case s.running():
			right = roundDur(m.now().Sub(s.Started))
		case s.State == engine.StepDone || s.State == engine.StepFailed:
			right = roundDur(s.Elapsed)
		}
		title := s.Title
		if s.Host != "" && !strings.Contains(title, s.Host) {
			title += m.th.Muted.Render(" · " + s.Host)
		}
		line := m.icon(s) + " " + ansi.Truncate(title, max(w-4-len(right), 4), "…")
		pad := max(w-ansi.StringWidth(line)-len(right), 1)
		line += strings.Repeat(" ", pad) + m.th.Muted.Render(right)
		if i == m.selected {
			line = m.th.Selected.Render(ansi.Truncate(line, w, ""))
		}
		if i > m.listTop {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	return lipgloss.NewStyle().Width(w).Height(h).MaxHeight(h).Render(b.String())
}

// detailView draws the failure panel (when the selected step failed) and
// the log of the selected step.
func (m *runView) detailView(w, h int) string {
	var top string
	if m.phase == phaseFinished && (m.runErr != nil || m.interrupted) {
		top = m.endPanel(w)
	}
	var s *stepState
	if m.selected < len(m.steps) {
		s = m.steps[m.selected]
	}
	if s != nil && s.State == engine.StepFailed {
		msg := "Error: " + errText(s.Err)
		if s.Hint != "" {
			msg += "\nHint:  " + s.Hint
		}
		panel := m.th.ErrBox.Width(w - 2).Render(m.th.Error.Render(iconFailed+" "+s.Title) + "\n" + msg)
		if top != "" {
			top += "\n"
		}
		top += panel
	}
	logH := max(h-lipgloss.Height(top), 3)
	if top == "" {
		logH = h
	}
	logBox := m.logView(s, w, logH)
	if top == "" {
		return logBox
	}
	return lipgloss.NewStyle().MaxHeight(h).Render(top + "\n" + logBox)
}

func errText(err error) string {
	if err == nil {
		return "failed"
	}
	return err.Error()
}

// endPanel offers what to do after a run that failed or was stopped.
func (m *runView) endPanel(w int) string {
	var b strings.Builder
	if m.interrupted {
		b.WriteString(m.th.Warn.Render("Stopped.") + " What was done stays done; the journal records it.\n")
	} else {
		_, _, failed, blocked := m.counts()
		fmt.Fprintf(&b, "%s %d step(s) failed, %d blocked by them.\n", m.th.Error.Render("Failed."), failed, blocked)
	}
	b.WriteString(m.th.Key.Render("r") + " retry: run again; done steps check as done and are skipped\n")
	b.WriteString(m.th.Key.Render("q") + " quit: the journal is kept; `collabstack apply -c " + m.path + "` resumes\n")
	if !m.interrupted {
		b.WriteString(m.th.Muted.Render("A failed step cannot be skipped: the steps after it need it."))
	}
	return m.th.Box.Width(w - 2).Render(b.String())
}

func (m *runView) logHeight() int { return max(m.height/2-2, 3) }

// logView draws the last lines of a step's log in a frame.
func (m *runView) logView(s *stepState, w, h int) string {
	inner := max(h-2, 1)
	title := "log"
	var lines []string
	if s != nil {
		title = "log · " + s.Title
		if s.log != nil {
			maxScroll := max(s.log.len()-inner, 0)
			m.logScroll = min(m.logScroll, maxScroll)
			lines = s.log.window(inner, m.logScroll)
			if s.log.dropped > 0 {
				title += fmt.Sprintf(" (%d older lines dropped)", s.log.dropped)
			}
		}
	}
	if len(lines) == 0 {
		lines = []string{m.th.Muted.Render("no output")}
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(strings.ReplaceAll(l, "\t", "    "), max(w-4, 4), "…")
	}
	body := m.th.Muted.Render(ansi.Truncate(title, max(w-4, 4), "…")) + "\n" + strings.Join(lines, "\n")
	return m.th.Box.Width(max(w-2, 4)).Height(inner).MaxHeight(h).Render(body)
}

func (m *runView) helpView() string {
	k := m.th.Key.Render
	mu := m.th.Muted.Render
	switch {
	case m.confirmQuit:
		return mu("y stop · n go on · ctrl+c leave at once")
	case m.phase == phaseFinished && m.runErr == nil && !m.interrupted:
		return k("q") + mu(" quit")
	case m.phase == phaseFinished:
		return k("r") + mu(" retry · ") + k("q") + mu(" quit · ↑/↓ step · pgup/pgdn log")
	case m.phase == phaseStopping:
		return mu("stopping the running steps… ctrl+c leaves at once")
	}
	return mu("↑/↓ step · f follow · pgup/pgdn log · ") + k("ctrl+c") + mu(" stop")
}

// finalView is the end of a successful run: where everything is.
func (m *runView) finalView() string {
	w := max(m.width, 40)
	var b strings.Builder
	done, changed, _, _ := m.counts()
	b.WriteString(m.th.OK.Render(iconDone+" Installed") + "\n\n")
	fmt.Fprintf(&b, "%d steps done, %d changed something.\n\n", done, changed)
	if len(m.result.URLs) > 0 {
		b.WriteString(m.th.Subtitle.Render("Services") + "\n")
		names := make([]string, 0, len(m.result.URLs))
		width := 0
		for n := range m.result.URLs {
			names = append(names, n)
			width = max(width, len(n))
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "  %-*s  %s\n", width, n, m.th.Accent.Render(m.result.URLs[n]))
		}
		b.WriteString("\n")
	}
	if m.result.SecretsPath != "" {
		b.WriteString(m.th.Subtitle.Render("Credentials") + "\n")
		fmt.Fprintf(&b, "  %s (mode 0600)\n", m.result.SecretsPath)
		b.WriteString("  List their names with `collabstack secret list -c " + m.path + "`.\n\n")
	}
	for _, n := range m.result.Notes {
		b.WriteString(m.th.Warn.Render(iconWarn) + " " + n + "\n")
	}
	fmt.Fprintf(&b, "\nSite file: %s; run `collabstack apply -c %s` again at any time.\n", m.path, m.path)
	return lipgloss.NewStyle().Width(w).Render(strings.TrimRight(b.String(), "\n")) + "\n\n" + m.helpView()
}
