package pveinstall

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/templates"
)

// Dir is where the install scripts, units and network templates live in
// templates.FS.
const Dir = "proxmox/install/"

// checkTodo is the exit status of a script in check mode that found work.
const checkTodo = 100

// Scripts lists the step scripts that run behind lib.sh (for shellcheck).
func Scripts() []string {
	return []string{"preflight.sh", "repo.sh", "kernel.sh", "kernel-running.sh", "packages.sh", "cleanup.sh",
		"bridge.sh", "bridge-facts.sh", "bridge-apply.sh", "bridge-confirm.sh"}
}

// HostScripts lists the standalone scripts installed on the host.
func HostScripts() []string { return []string{"netapply.sh", "netrevert.sh"} }

// Script returns a step script: lib.sh followed by templates/proxmox/install/<name>.
// It is plain text: values reach it as environment variables.
func Script(name string) (string, error) {
	lib, err := templates.FS.ReadFile(Dir + "lib.sh")
	if err != nil {
		return "", fmt.Errorf("read %slib.sh: %w", Dir, err)
	}
	body, err := templates.FS.ReadFile(Dir + name)
	if err != nil {
		return "", fmt.Errorf("read %s%s: %w", Dir, name, err)
	}
	return string(lib) + "\n" + string(body), nil
}

// result is what a script run tells.
type result struct {
	out  string // stdout
	code int    // exit status (0 when err is nil)
	err  error  // a failure other than a non-zero exit, or the exit error
}

// run runs a step script as root with MODE and vars in its environment.
// Output is streamed to the step log when stream is set.
func run(ctx context.Context, env *engine.Env, name, mode string, vars map[string]string, stream bool) result {
	text, err := Script(name)
	if err != nil {
		return result{err: err, code: -1}
	}
	e := map[string]string{"MODE": mode}
	for k, v := range vars {
		e[k] = v
	}
	opts := host.RunOpts{Sudo: true, Env: e}
	if stream {
		opts.Output = env.Out
	}
	out, err := env.Host.Run(ctx, text, opts)
	var ee *host.ExitError
	switch {
	case err == nil:
		return result{out: out}
	case errors.As(err, &ee):
		return result{out: out, code: ee.Code, err: err}
	default:
		return result{out: out, code: -1, err: err}
	}
}

// logPrefixed logs the lines of out that start with prefix (without it).
func logPrefixed(env *engine.Env, out, prefix string) {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			env.Logf("%s", rest)
		}
	}
}

// scriptStep is a step whose Check runs the script with MODE=check (exit 0:
// done, 100: work to do) and whose Apply runs it with MODE=apply.
func scriptStep(id, title, hostName string, needs []string, name string, vars map[string]string) engine.Step {
	failed := func(err error) error {
		return engine.WithHint(fmt.Errorf("%s: %w", lowerFirst(title), err),
			"the output above shows the failing command; fix it on %s and run apply again (finished steps are skipped)", hostName)
	}
	return &engine.Func{
		StepID: id, Name: title, On: hostName, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			r := run(ctx, env, name, "check", vars, false)
			switch {
			case r.err == nil:
				return true, nil
			case r.code == checkTodo:
				logPrefixed(env, r.out, "todo: ")
				return false, nil
			}
			return false, failed(r.err)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			if r := run(ctx, env, name, "apply", vars, true); r.err != nil {
				return failed(r.err)
			}
			return nil
		},
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
