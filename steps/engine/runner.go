package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/collabstack/collabstack/steps/journal"
	"github.com/collabstack/collabstack/steps/secrets"
)

// Runner runs a plan.
type Runner struct {
	Plan    *Plan
	Hosts   *Inventory
	Secrets *secrets.Store
	// Journal, when set, gets one fsync'd record per step result.
	Journal *journal.Journal
	// Redactor, when set, cleans every line and error before it leaves.
	Redactor *secrets.Redactor
	// Emit receives events, one at a time (calls are serialised).
	Emit func(Event)
	// Parallel is the most steps running at once (default 4); PerHost the
	// most on one host (default 1).
	Parallel int
	PerHost  int
	// DryRun checks live state and reports what would change, changing
	// nothing: the `plan` command.
	DryRun bool
	// Command is recorded in the journal ("apply", "apply --only x").
	Command string

	emitMu sync.Mutex
	pre    *prechecks
}

// Summary counts the step results of a run.
type Summary struct {
	RunID     string
	Changed   int // applied in this run (or, dry run: would change)
	Unchanged int // already done
	Unknown   int // dry run: state could not be read
	Failed    int
	Blocked   int
	NotRun    int // left when the run was cancelled
	Elapsed   time.Duration
}

// StepFailure is one failed step.
type StepFailure struct {
	Step, Title, Host string
	Err               error
	Hint              string
}

// RunError is returned when steps failed or the run was cancelled.
type RunError struct {
	Failures  []StepFailure
	Cancelled bool
	Blocked   int
}

// Unwrap gives the failed steps' errors, so errors.As finds a host key
// that changed or a lock held behind a step's failure.
func (e *RunError) Unwrap() []error {
	out := make([]error, 0, len(e.Failures))
	for _, f := range e.Failures {
		if f.Err != nil {
			out = append(out, f.Err)
		}
	}
	return out
}

func (e *RunError) Error() string {
	var parts []string
	for _, f := range e.Failures {
		parts = append(parts, fmt.Sprintf("%s: %v", f.Title, f.Err))
	}
	msg := strings.Join(parts, "; ")
	if e.Cancelled {
		if msg != "" {
			msg += "; "
		}
		msg += "the run was interrupted; run apply again to resume"
	}
	if e.Blocked > 0 {
		msg += fmt.Sprintf(" (%d dependent steps not run)", e.Blocked)
	}
	return msg
}

type stepState int

const (
	pending stepState = iota
	running
	succeeded // done or applied; in a dry run also "would change" (todo)
	failed
	blocked
)

type result struct {
	id      string
	changed bool
	unknown bool
	err     error
	elapsed time.Duration
}

// Run runs the plan until every step is done, failed or blocked, or ctx
// is cancelled. Independent steps run in parallel.
func (r *Runner) Run(ctx context.Context) (Summary, error) {
	start := time.Now()
	sum := Summary{RunID: newRunID()}
	if err := r.Plan.Validate(); err != nil {
		return sum, err
	}
	parallel, perHost := r.Parallel, r.PerHost
	if parallel <= 0 {
		parallel = 4
	}
	if perHost <= 0 {
		perHost = 1
	}
	order := r.Plan.Order()
	r.pre = &prechecks{hosts: map[string]*hostPrechecks{}}
	r.journal(journal.Record{Run: sum.RunID, Kind: journal.KindRunStart, Command: r.Command})
	r.emit(Event{Kind: RunStarted, Total: len(order)})

	state := map[string]stepState{}
	todo := map[string]bool{}    // dry run: would change
	unknown := map[string]bool{} // dry run: could not be read
	busy := map[string]int{}
	runningN := 0
	results := make(chan result)
	var failures []StepFailure

	ready := func(id string) bool {
		for _, d := range r.Plan.steps[id].After() {
			if state[d] != succeeded {
				return false
			}
		}
		h := r.Plan.steps[id].HostName()
		return h == "" || busy[h] < perHost
	}
	var block func(id string)
	block = func(id string) {
		for _, other := range order {
			if state[other] != pending {
				continue
			}
			for _, d := range r.Plan.steps[other].After() {
				if d == id {
					state[other] = blocked
					sum.Blocked++
					s := r.Plan.steps[other]
					r.emit(Event{Kind: StepBlocked, Step: other, Title: s.Title(), Host: s.HostName(), Hint: "fix the failed step it needs, then run apply again"})
					r.journal(journal.Record{Run: sum.RunID, Kind: journal.KindStep, Step: other, Title: s.Title(), Host: s.HostName(), Status: journal.StatusBlocked})
					block(other)
					break
				}
			}
		}
	}

	for {
		if ctx.Err() == nil {
			for _, id := range order {
				if runningN >= parallel {
					break
				}
				if state[id] != pending || !ready(id) {
					continue
				}
				s := r.Plan.steps[id]
				state[id] = running
				runningN++
				if h := s.HostName(); h != "" {
					busy[h]++
				}
				depTodo, depUnknown := false, false
				for _, d := range s.After() {
					depTodo = depTodo || todo[d]
					depUnknown = depUnknown || unknown[d]
				}
				go func() { results <- r.runStep(ctx, sum.RunID, s, depTodo, depUnknown) }()
			}
		}
		if runningN == 0 {
			break
		}
		res := <-results
		runningN--
		s := r.Plan.steps[res.id]
		if h := s.HostName(); h != "" {
			busy[h]--
		}
		switch {
		case res.err != nil:
			state[res.id] = failed
			if ctx.Err() == nil || !errors.Is(res.err, context.Canceled) {
				sum.Failed++
				failures = append(failures, StepFailure{Step: res.id, Title: s.Title(), Host: s.HostName(), Err: res.err, Hint: HintOf(res.err)})
			} else {
				sum.NotRun++
			}
			block(res.id)
		default:
			state[res.id] = succeeded
			switch {
			case res.unknown:
				unknown[res.id] = true
				sum.Unknown++
			case res.changed:
				todo[res.id] = r.DryRun
				sum.Changed++
			default:
				sum.Unchanged++
			}
		}
	}
	for _, id := range order {
		if state[id] == pending {
			sum.NotRun++
		}
	}
	sum.Elapsed = time.Since(start)
	var err error
	status := journal.StatusOK
	if len(failures) > 0 || ctx.Err() != nil {
		err = &RunError{Failures: failures, Cancelled: ctx.Err() != nil, Blocked: sum.Blocked}
		status = journal.StatusFailed
		if ctx.Err() != nil {
			status = journal.StatusInterrupted
		}
	}
	r.journal(journal.Record{Run: sum.RunID, Kind: journal.KindRunEnd, Status: status, Duration: sum.Elapsed.Seconds()})
	r.emit(Event{Kind: RunFinished, Err: err, Elapsed: sum.Elapsed, Total: len(order)})
	return sum, err
}

func (r *Runner) runStep(ctx context.Context, runID string, s Step, depTodo, depUnknown bool) (res result) {
	res.id = s.ID()
	start := time.Now()
	ev := Event{Step: s.ID(), Title: s.Title(), Host: s.HostName()}
	defer func() {
		if p := recover(); p != nil {
			res.err = fmt.Errorf("step %s crashed: %v\n%s", s.ID(), p, debug.Stack())
		}
		res.elapsed = time.Since(start)
		res.err = r.Redactor.Error(res.err)
		ev.Elapsed = res.elapsed
		switch {
		case res.err != nil && r.DryRun:
			// A dry run reports what it could not read instead of failing.
			res.unknown, res.err = true, nil
			ev.Kind, ev.Unknown, ev.Line = StepPlanned, true, r.Redactor.Redact(res.errText())
		case res.err != nil:
			ev.Kind, ev.Err, ev.Hint = StepFailed, res.err, HintOf(res.err)
			r.journal(journal.Record{Run: runID, Kind: journal.KindStep, Step: s.ID(), Title: s.Title(), Host: s.HostName(), Component: componentOf(s), Status: journal.StatusFailed, Duration: res.elapsed.Seconds(), Error: res.err.Error(), Hint: ev.Hint})
		case r.DryRun:
			ev.Kind, ev.Changed, ev.Unknown = StepPlanned, res.changed, res.unknown
		default:
			ev.Kind, ev.Changed = StepDone, res.changed
			status := journal.StatusDone
			if res.changed {
				status = journal.StatusChanged
			}
			r.journal(journal.Record{Run: runID, Kind: journal.KindStep, Step: s.ID(), Title: s.Title(), Host: s.HostName(), Component: componentOf(s), Status: status, Duration: res.elapsed.Seconds()})
		}
		r.emit(ev)
	}()
	if r.DryRun && (depTodo || depUnknown) {
		// What it needs will change first: its own check would read a
		// state about to change.
		res.changed, res.unknown = depTodo && !depUnknown, depUnknown
		return res
	}
	r.emit(Event{Kind: StepStarted, Step: s.ID(), Title: s.Title(), Host: s.HostName()})
	env := &Env{Hosts: r.Hosts, Secrets: r.Secrets, pre: r.pre}
	env.Out = func(line string) {
		r.emit(Event{Kind: StepOutput, Step: s.ID(), Host: s.HostName(), Line: r.Redactor.Redact(line)})
	}
	env.Progress = func(done, total int) {
		r.emit(Event{Kind: StepProgress, Step: s.ID(), Host: s.HostName(), Done: done, Total: total})
	}
	if name := s.HostName(); name != "" {
		h, err := r.Hosts.Get(ctx, name)
		if err != nil {
			res.err = fmt.Errorf("connect to %s: %w", name, err)
			return res
		}
		env.Host = h
		if _, ok := s.(Prechecker); ok {
			r.batch(ctx, h, func(Step) *Env {
				return &Env{Host: h, Hosts: r.Hosts, Secrets: r.Secrets, Out: func(string) {}, Progress: func(int, int) {}}
			})
		}
	}
	done, err := s.Check(ctx, env)
	if err != nil {
		res.err = fmt.Errorf("check %s: %w", s.Title(), err)
		return res
	}
	if done {
		return res
	}
	res.changed = true
	if r.DryRun {
		return res
	}
	// Recorded before the change begins: a run killed now shows which
	// step it was changing.
	// From the first change on, no check takes an answer run ahead.
	r.pre.applied.Store(true)
	r.journal(journal.Record{Run: runID, Kind: journal.KindApply, Step: s.ID(), Title: s.Title(), Host: s.HostName(), Component: componentOf(s)})
	if err := s.Apply(ctx, env); err != nil {
		res.err = err
		return res
	}
	return res
}

func (res result) errText() string {
	if res.err == nil {
		return ""
	}
	return res.err.Error()
}

func (r *Runner) emit(e Event) {
	if r.Emit == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.emitMu.Lock()
	defer r.emitMu.Unlock()
	r.Emit(e)
}

func (r *Runner) journal(rec journal.Record) {
	if r.Journal == nil || r.DryRun {
		return
	}
	rec.Error = r.Redactor.Redact(rec.Error)
	// A journal that cannot be written is reported on the event stream;
	// the run goes on, since the live-state checks still make it safe.
	if err := r.Journal.Append(rec); err != nil {
		r.emit(Event{Kind: StepOutput, Step: rec.Step, Line: "warning: " + err.Error()})
	}
}

func newRunID() string {
	b := make([]byte, 4)
	rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func componentOf(s Step) string {
	if c, ok := s.(Componented); ok {
		return c.Component()
	}
	return ""
}
