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
	// Path is the script under templates/ ("prepare/time.sh").
	Path string
	Data Data
}

// Step runs templates/<Path> (after lib.sh) as root on the spec's host.
func Step(sp Spec) *engine.Func {
	run := func(ctx context.Context, env *engine.Env, mode string) (bool, error) {
		d, stdin, err := sp.Data(ctx, env)
		if err != nil {
			return false, err
		}
		if d == nil {
			return true, nil
		}
		text, err := Render(sp.Path, d)
		if err != nil {
			return false, err
		}
		opts := host.RunOpts{Sudo: true, Stdin: stdin, Env: map[string]string{"MODE": mode}}
		if mode == "apply" {
			opts.Output = env.Out
		}
		out, err := env.Host.Run(ctx, text, opts)
		var ee *host.ExitError
		switch {
		case err == nil:
			return true, nil
		case mode == "check" && errors.As(err, &ee) && ee.Code == CheckTodo:
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				if strings.HasPrefix(line, "todo: ") {
					env.Logf("%s", strings.TrimPrefix(line, "todo: "))
				}
			}
			return false, nil
		default:
			return false, engine.WithHint(fmt.Errorf("%s: %w", strings.ToLower(sp.Title[:1])+sp.Title[1:], err),
				"the output above shows the failing command; fix it on %s and run apply again (finished steps are skipped)", sp.Host)
		}
	}
	return &engine.Func{
		StepID: sp.ID, Name: sp.Title, On: sp.Host, Needs: sp.Needs, Comp: sp.Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) { return run(ctx, env, "check") },
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			_, err := run(ctx, env, "apply")
			return err
		},
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
