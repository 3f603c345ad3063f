package engine

import "time"

// Kind says what happened.
type Kind int

const (
	// RunStarted opens a run; Total is the number of steps.
	RunStarted Kind = iota
	// StepStarted: a step began checking its live state.
	StepStarted
	// StepOutput: one line of a step's output (Line).
	StepOutput
	// StepProgress: Done of Total within a step.
	StepProgress
	// StepDone: the step is done; Changed says whether it changed anything.
	StepDone
	// StepFailed: Err and Hint say what failed and what to do.
	StepFailed
	// StepBlocked: not run because a step it needs failed or was cancelled.
	StepBlocked
	// StepPlanned: dry run only: the step would run (Changed) or is done.
	StepPlanned
	// RunFinished closes a run; Err is set when anything failed.
	RunFinished
)

var kindNames = [...]string{"run-started", "step-started", "output", "progress", "done", "failed", "blocked", "planned", "run-finished"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Event is one thing the engine reports. Text fields are already redacted.
type Event struct {
	Time  time.Time
	Kind  Kind
	Step  string // step ID
	Title string // step title
	Host  string
	Line  string
	// Changed: for StepDone, the step did work; for StepPlanned, it would.
	Changed bool
	// Unknown: for StepPlanned, the state could not be read (host down).
	Unknown bool
	Done    int
	Total   int
	Err     error
	Hint    string
	Elapsed time.Duration
}
