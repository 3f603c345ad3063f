// Package engine runs plans: a DAG of idempotent steps, each checking the
// live state of its host before changing anything. It emits typed events
// for any front end (wizard, plain log) and writes a journal so an
// interrupted apply resumes. It never writes to the terminal itself.
package engine

import (
	"context"
	"fmt"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/secrets"
)

// Step is one idempotent unit of work on one host.
type Step interface {
	// ID is unique in the plan and stable across runs ("swarm/join/worker1").
	ID() string
	// Title is what a person reads ("Join worker1 to the swarm").
	Title() string
	// HostName is the target host; "" means no host (local bookkeeping).
	HostName() string
	// After lists the IDs of steps that must be done first.
	After() []string
	// Check reports whether the step is already done, judged from live state.
	Check(ctx context.Context, env *Env) (bool, error)
	// Apply does the work. It must be safe to run again after a crash.
	Apply(ctx context.Context, env *Env) error
}

// Componented is implemented by steps that belong to a component, so an
// apply can be limited with --only.
type Componented interface{ Component() string }

// Env is what a running step gets.
type Env struct {
	// Host is the target, connected; nil for steps without a host.
	Host host.Host
	// Hosts lets a step reach other hosts or register new ones.
	Hosts *Inventory
	// Secrets is the site's secret store.
	Secrets *secrets.Store
	// Out logs a line of output for the step (redacted before it leaves).
	Out func(line string)
	// Progress reports progress within a long step (done of total).
	Progress func(done, total int)

	pre *prechecks // results run ahead in one batch per host (Prechecked)
}

// Logf writes a formatted line to the step's output.
func (e *Env) Logf(format string, args ...any) {
	if e.Out != nil {
		e.Out(sprintf(format, args...))
	}
}

// Run runs a command on the step's host with output streamed to the step log.
func (e *Env) Run(ctx context.Context, command string) (string, error) {
	return e.Host.Run(ctx, command, host.RunOpts{Output: e.Out})
}

// Sudo runs a command as root on the step's host with output streamed.
func (e *Env) Sudo(ctx context.Context, command string) (string, error) {
	return e.Host.Run(ctx, command, host.RunOpts{Sudo: true, Output: e.Out})
}

// Func is a Step made of functions: the common way to write one.
type Func struct {
	StepID    string
	Name      string
	On        string
	Needs     []string
	Comp      string
	CheckFunc func(ctx context.Context, env *Env) (bool, error)
	ApplyFunc func(ctx context.Context, env *Env) error
}

func (f *Func) ID() string        { return f.StepID }
func (f *Func) Title() string     { return f.Name }
func (f *Func) HostName() string  { return f.On }
func (f *Func) After() []string   { return f.Needs }
func (f *Func) Component() string { return f.Comp }

// Check runs CheckFunc; a step without one is never done before Apply.
func (f *Func) Check(ctx context.Context, env *Env) (bool, error) {
	if f.CheckFunc == nil {
		return false, nil
	}
	return f.CheckFunc(ctx, env)
}

// Apply runs ApplyFunc.
func (f *Func) Apply(ctx context.Context, env *Env) error {
	if f.ApplyFunc == nil {
		return nil
	}
	return f.ApplyFunc(ctx, env)
}

// Reboot reboots the step's host and waits until it accepts commands
// again, for steps that must restart their host (a new kernel).
func (e *Env) Reboot(ctx context.Context) error {
	r, ok := e.Host.(host.Rebooter)
	if !ok {
		return fmt.Errorf("%s cannot be rebooted by collabstack (%T)", e.Host.Name(), e.Host)
	}
	e.Logf("rebooting %s and waiting for it to come back", e.Host.Name())
	return r.Reboot(ctx)
}
