// Package journal is the append-only record of what every apply did: one
// JSON line per step result, fsync'd before the run goes on, so an apply
// killed at any point leaves a journal that tells where it stopped.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Record kinds.
const (
	KindRunStart = "run-start"
	KindStep     = "step"
	// KindApply: a step found its work not done and began to change the
	// host; its step record follows (a run killed in between has none).
	KindApply  = "apply"
	KindRunEnd = "run-end"
)

// Step statuses.
const (
	StatusDone    = "done"    // already done, nothing changed
	StatusChanged = "changed" // applied
	StatusFailed  = "failed"
	StatusBlocked = "blocked" // a step it needs failed
	// Run statuses (run-end).
	StatusOK          = "ok"
	StatusInterrupted = "interrupted"
)

// Record is one line of the journal.
type Record struct {
	Time    time.Time `json:"time"`
	Run     string    `json:"run"`
	Kind    string    `json:"kind"`
	Command string    `json:"command,omitempty"`
	Step    string    `json:"step,omitempty"`
	Title   string    `json:"title,omitempty"`
	Host    string    `json:"host,omitempty"`
	// Component is set for steps that belong to a component.
	Component string  `json:"component,omitempty"`
	Status    string  `json:"status,omitempty"`
	Duration  float64 `json:"seconds,omitempty"`
	Error     string  `json:"error,omitempty"`
	Hint      string  `json:"hint,omitempty"`
}

// Journal appends records to a file.
type Journal struct {
	mu sync.Mutex
	f  *os.File
}

// Open opens (creating, 0600) the journal at path for appending.
func Open(path string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the journal %s: %w", path, err)
	}
	// A torn last line from a killed run would glue onto the next record:
	// end it with a newline first.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if r, err := os.Open(path); err == nil {
			if _, err := r.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
				f.Write([]byte("\n"))
			}
			r.Close()
		}
	}
	return &Journal{f: f}, nil
}

// Append writes one record and syncs it to disk.
func (j *Journal) Append(r Record) error {
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	line, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	line = append(line, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("write the journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync the journal: %w", err)
	}
	return nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// Read returns every whole record of the journal at path. A missing file
// is an empty journal; a torn or damaged line (a kill in mid-write) is
// skipped.
func Read(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the journal %s: %w", path, err)
	}
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		var r Record
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Kind != "" {
			out = append(out, r)
		}
	}
	return out, nil
}

// Run summarises one apply.
type Run struct {
	ID       string
	Command  string
	Started  time.Time
	Ended    time.Time // zero when the run never finished (killed)
	Status   string    // ok, failed, interrupted, or "" when killed
	Steps    map[string]Record
	Failed   []Record
	Finished bool
	// Applying holds the steps that began to change their host and have
	// no result in this run: in a killed run, what it was changing.
	Applying map[string]Record
}

// Runs groups records by run, oldest first.
func Runs(recs []Record) []*Run {
	var runs []*Run
	byID := map[string]*Run{}
	for _, r := range recs {
		run := byID[r.Run]
		if run == nil {
			run = &Run{ID: r.Run, Steps: map[string]Record{}, Applying: map[string]Record{}, Started: r.Time}
			byID[r.Run] = run
			runs = append(runs, run)
		}
		switch r.Kind {
		case KindRunStart:
			run.Command = r.Command
			run.Started = r.Time
		case KindApply:
			run.Applying[r.Step] = r
		case KindStep:
			delete(run.Applying, r.Step)
			run.Steps[r.Step] = r
			if r.Status == StatusFailed {
				run.Failed = append(run.Failed, r)
			}
		case KindRunEnd:
			run.Ended = r.Time
			run.Status = r.Status
			run.Finished = true
		}
	}
	return runs
}

// Last returns the newest run, or nil.
func Last(recs []Record) *Run {
	runs := Runs(recs)
	if len(runs) == 0 {
		return nil
	}
	return runs[len(runs)-1]
}
