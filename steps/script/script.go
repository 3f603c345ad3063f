// Package script runs a step as a shell script from templates/: the same
// script checks (MODE=check: exit 0 when done, 100 with "todo: why" lines
// when not) and applies (MODE=apply: does what is missing). So every
// Check reads live state, and a second run changes nothing. Values reach
// the script through the template, shell-quoted with q, or on stdin for
// secrets; no shell is built by concatenation in Go.
package script

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/templates"
)

// CheckTodo is the exit status of a check that found work to do.
const CheckTodo = 100

// Lib is the shared head rendered in front of every script.
const Lib = "script/lib.sh"

// Data returns a script's template data and its stdin (secrets go there,
// never into the script). A nil map means there is nothing to do here.
type Data func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error)

// Fixed is Data that never changes.
func Fixed(data map[string]any) Data {
	return func(context.Context, *engine.Env) (map[string]any, []byte, error) { return data, nil, nil }
}

// Spec says which script a step runs, where and when.
type Spec struct {
	ID, Title, Host, Component string
	Needs                      []string
	// Hint, when set, is what a failed apply tells the user to do (the
	// host's name is not added: say it in the text).
	Hint string
	// Path is the script under templates/ ("prepare/time.sh").
	Path string
	Data Data
}

// Step runs templates/<Path> (after lib.sh) as root on the spec's host.
// Its check without secrets on stdin is a Precheck: the runner may run it
// ahead with the host's other checks in one round trip, and the step then
// takes that answer when it is for exactly the script it renders now.
func Step(sp Spec) *Scripted {
	st := &Scripted{sp: sp}
	st.Func = &engine.Func{
		StepID: sp.ID, Name: sp.Title, On: sp.Host, Needs: sp.Needs, Comp: sp.Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) { return st.run(ctx, env, Check) },
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			_, err := st.run(ctx, env, Apply)
			return err
		},
	}
	return st
}

// Scripted is the step Step makes: an engine.Func that is also an
// engine.Prechecker.
type Scripted struct {
	*engine.Func
	sp Spec
}

// Precheck is the step's check as a script to run ahead, or nil when its
// data says there is nothing to do here or it needs stdin.
func (st *Scripted) Precheck(ctx context.Context, env *engine.Env) (*engine.Precheck, error) {
	d, stdin, err := st.sp.Data(ctx, env)
	if err != nil || d == nil || len(stdin) > 0 {
		return nil, err
	}
	text, err := Render(st.sp.Path, d)
	if err != nil {
		return nil, err
	}
	return &engine.Precheck{Script: text, Env: map[string]string{"MODE": Check}}, nil
}

func (st *Scripted) run(ctx context.Context, env *engine.Env, mode string) (bool, error) {
	sp := st.sp
	d, stdin, err := sp.Data(ctx, env)
	if err != nil {
		return false, err
	}
	if d == nil {
		return true, nil
	}
	var r Result
	ahead := false
	if mode == Check && len(stdin) == 0 {
		if text, err := Render(sp.Path, d); err == nil {
			if pr, ok := env.Prechecked(&engine.Precheck{Script: text, Env: map[string]string{"MODE": Check}}); ok && (pr.Code == 0 || pr.Code == CheckTodo) {
				r, ahead = Result{Out: pr.Out, Code: pr.Code}, true
				if pr.Code == CheckTodo {
					r.Err = &host.ExitError{Code: CheckTodo}
				}
			}
		}
	}
	if !ahead {
		opts := host.RunOpts{Stdin: stdin}
		if mode == Apply {
			opts.Output = env.Out
		}
		r = Run(ctx, env.Host, sp.Path, mode, d, opts)
	}
	switch {
	case r.Err == nil:
		return true, nil
	case mode == Check && r.Todo():
		LogLines(env, r.Out, "todo: ")
		return false, nil
	case sp.Hint != "":
		return false, engine.WithHint(fmt.Errorf("%s: %w", strings.ToLower(sp.Title[:1])+sp.Title[1:], r.Err), "%s", sp.Hint)
	default:
		return false, engine.WithHint(fmt.Errorf("%s: %w", strings.ToLower(sp.Title[:1])+sp.Title[1:], r.Err),
			"the output above shows the failing command; fix it on %s and run apply again (finished steps are skipped)", sp.Host)
	}
}

// The modes a script runs in (its MODE).
const (
	// Check only reads: exit 0 when done, CheckTodo when not.
	Check = "check"
	// Apply does what is missing.
	Apply = "apply"
)

// Result is what one run of a script tells.
type Result struct {
	Out  string // stdout
	Code int    // exit status: 0 when Err is nil, -1 when the script did not run to an exit
	Err  error  // the exit error, or why the script did not run
}

// Todo reports a check that found work to do (exit CheckTodo).
func (r Result) Todo() bool { return r.Code == CheckTodo }

// Run renders templates/<path> behind lib.sh with data and runs it on h
// as root with MODE=mode; opts gives stdin and where output lines go. It
// is for steps whose scripts tell more than done or not (a preflight's
// problems, a confirmation's token); Step covers the rest.
func Run(ctx context.Context, h host.Host, path, mode string, data map[string]any, opts host.RunOpts) Result {
	text, err := Render(path, data)
	if err != nil {
		return Result{Code: -1, Err: err}
	}
	opts.Sudo = true
	opts.Env = map[string]string{"MODE": mode}
	out, err := h.Run(ctx, text, opts)
	var ee *host.ExitError
	switch {
	case err == nil:
		return Result{Out: out}
	case errors.As(err, &ee):
		return Result{Out: out, Code: ee.Code, Err: err}
	default:
		return Result{Out: out, Code: -1, Err: err}
	}
}

// LogLines logs the lines of out that start with prefix, without it
// ("todo: ", or a script's own "problem: ").
func LogLines(env *engine.Env, out, prefix string) {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			env.Logf("%s", rest)
		}
	}
}

// Render renders templates/<path> behind lib.sh, filled with data (values
// are shell-quoted with q; a missing key is an error).
func Render(path string, data map[string]any) (string, error) {
	lib, err := templates.FS.ReadFile(Lib)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", Lib, err)
	}
	return render(path, string(lib)+"\n", data)
}

// RenderFile renders templates/<path> alone: a file a step installs (a
// hook, a unit) rather than runs.
func RenderFile(path string, data map[string]any) (string, error) {
	return render(path, "", data)
}

func render(path, head string, data map[string]any) (string, error) {
	t, err := templates.ParseWithHead(nil, path, head, nil)
	if err != nil {
		return "", err
	}
	b, err := templates.Execute(t, data)
	return string(b), err
}
