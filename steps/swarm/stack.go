package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/health"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
)

// StacksDir holds the rendered stack files on the manager.
const StacksDir = layout.Root + "/stacks"

// Stack is a rendered stack: its compose file and the files it refers to
// (configs such as an nginx.conf), all written beside it.
type Stack struct {
	Name  string
	Files map[string][]byte // "stack.yaml" and any config files
	// Pin keeps the stack on one node (its data in local volumes); nil
	// for a stack that may run on any node of its placement.
	Pin *Pin
}

// DeployOption tunes what a deployed stack must do before its deploy step
// is done.
type DeployOption func(*deployOptions)

type deployOptions struct {
	timeout, settle time.Duration
	probes          func(ctx context.Context, env *engine.Env) ([]health.Probe, error)
}

// Within bounds the wait for the stack to converge and answer (default
// health.DefaultTimeout; big Java apps need more).
func Within(d time.Duration) DeployOption { return func(o *deployOptions) { o.timeout = d } }

// Settle is how long every task must run without being replaced
// (default health.DefaultSettle).
func Settle(d time.Duration) DeployOption { return func(o *deployOptions) { o.settle = d } }

// Probes are how a user would see the stack working (a page through the
// edge, a port, a command in a backend's container): the deploy waits for
// them to pass and a re-run whose probe fails deploys again.
func Probes(f func(ctx context.Context, env *engine.Env) ([]health.Probe, error)) DeployOption {
	return func(o *deployOptions) { o.probes = f }
}

// DeployStep deploys a stack on the manager and waits until it works:
// every service runs all its desired tasks (healthy where the image has a
// healthcheck), none replaced during a settle period, and the stack's
// probes pass; otherwise it fails naming the service, docker's task error
// and its last log lines. It is done when the files on the manager are
// the ones rendered now, every service is converged and the probes pass,
// so a re-run with nothing changed changes nothing, a changed template or
// option redeploys, and a crashed or failing app is deployed again (and
// diagnosed) instead of judged done. A stack with a Pin gets its node
// labelled before its first deploy, and is not done while no node (or
// more than one) carries the label. After a deploy has converged, the
// versions of the stack's secrets and configs (SecretsStep, a rendered
// file's name by content) that no service uses any more are removed.
func DeployStep(id, title, manager, component string, needs []string, render func(ctx context.Context, env *engine.Env) (Stack, error), opts ...DeployOption) engine.Step {
	var o deployOptions
	for _, f := range opts {
		f(&o)
	}
	spec := func(ctx context.Context, env *engine.Env, st Stack) (health.Spec, error) {
		sp := health.Spec{Stack: st.Name, Timeout: o.timeout, Settle: o.settle, Component: component, Images: map[string]string{}}
		images, _ := ServiceImages(st.Files["stack.yaml"]) // bad YAML: no services, as before
		for s, img := range images {
			sp.Services = append(sp.Services, st.Name+"_"+s)
			if img != "" {
				sp.Images[st.Name+"_"+s] = img
			}
		}
		sort.Strings(sp.Services)
		if o.probes != nil {
			p, err := o.probes(ctx, env)
			if err != nil {
				return sp, err
			}
			sp.Probes = p
		}
		return sp, nil
	}
	return &engine.Func{
		StepID: id, Name: title, On: manager, Comp: component, Needs: needs,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			st, err := render(ctx, env)
			if err != nil {
				return false, err
			}
			dir := StacksDir + "/" + st.Name
			for name, want := range st.Files {
				have, err := env.Host.ReadFile(ctx, dir+"/"+name)
				if errors.Is(err, fs.ErrNotExist) {
					return false, nil
				}
				if err != nil {
					return false, err
				}
				if !bytes.Equal(have, want) {
					return false, nil
				}
			}
			if st.Pin != nil {
				if ok, err := PinDone(ctx, env.Host, *st.Pin); !ok || err != nil {
					return false, err
				}
			}
			sp, err := spec(ctx, env, st)
			if err != nil {
				return false, err
			}
			return health.Ready(ctx, env, sp)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			st, err := render(ctx, env)
			if err != nil {
				return err
			}
			dir := StacksDir + "/" + st.Name
			sp, err := spec(ctx, env, st)
			if err != nil {
				return err
			}
			if st.Pin != nil {
				// The node is chosen before the stack's constraint names
				// its label: a task never waits for a label.
				if err := EnsurePin(ctx, env, *st.Pin); err != nil {
					return err
				}
			}
			if err := restartIfWedged(ctx, env, st, sp); err != nil {
				return err
			}
			names := make([]string, 0, len(st.Files))
			for n := range st.Files {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if err := env.Host.Upload(ctx, dir+"/"+n, st.Files[n], 0o600, "root"); err != nil {
					return fmt.Errorf("upload %s of stack %s: %w", n, st.Name, err)
				}
			}
			_, err = env.Sudo(ctx, "cd "+host.Quote(dir)+" && docker stack deploy --prune --with-registry-auth -c stack.yaml "+host.Quote(st.Name))
			if err != nil {
				return engine.WithHint(fmt.Errorf("deploy stack %s: %w", st.Name, err), "the rendered file is %s/stack.yaml on %s; `docker stack ps %s --no-trunc` shows why tasks fail", dir, manager, st.Name)
			}
			if _, err = health.Wait(ctx, env, sp); err != nil {
				return err
			}
			// The services run on the current versions of their secrets
			// and configs: the ones they left go.
			pruneVersions(ctx, env, st.Files["stack.yaml"])
			return nil
		},
	}
}

// restartIfWedged restarts the services of a stack whose files have not
// changed, whose services all run, and whose probe still fails: deploying
// the same files again would change nothing, and a wedged app (a
// corrupted cache, a lost connection it never retries) answers again after
// a restart from its image. A stack with changed files is left to the
// deploy.
func restartIfWedged(ctx context.Context, env *engine.Env, st Stack, sp health.Spec) error {
	if len(sp.Probes) == 0 {
		return nil
	}
	for name, want := range st.Files {
		have, err := env.Host.ReadFile(ctx, StacksDir+"/"+st.Name+"/"+name)
		if err != nil || !bytes.Equal(have, want) {
			return nil
		}
	}
	state, err := health.Read(ctx, env.Host, env.Hosts, sp.Stack, sp.Probes)
	if err != nil {
		return nil
	}
	if ok, _, _ := state.Converged(sp.Services); !ok {
		return nil // docker is restarting it already
	}
	r, bad := state.FailedProbe()
	if !bad {
		return nil
	}
	env.Logf("%s runs but does not answer (%s: %s): restarting its services", st.Name, r.Probe, r.Detail)
	for _, svc := range sp.Services {
		if _, err := env.Sudo(ctx, "docker service update --force --detach --quiet "+host.Quote(svc)); err != nil {
			return engine.WithHint(fmt.Errorf("restart %s: %w", svc, err), "`docker service ps %s --no-trunc` on %s says more", svc, env.Host.Name())
		}
	}
	return nil
}
