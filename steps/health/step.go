package health

import (
	"context"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
)

// ProbeStep is a step that proves a component answers as a user would
// see it, for probes that can only pass after later steps (kopnik's
// schema, say) and so cannot run inside the deploy: done when every probe
// passes now (one round trip); its apply waits up to timeout for them and
// fails naming the probe with the logs of service (the stack's main one).
func ProbeStep(id, title, manager, component string, needs []string, stack, service string, timeout time.Duration, probes func(ctx context.Context, env *engine.Env) ([]Probe, error)) engine.Step {
	spec := func(ctx context.Context, env *engine.Env) (Spec, error) {
		p, err := probes(ctx, env)
		sp := Spec{Stack: stack, Probes: p, Timeout: timeout, Component: component, Settle: time.Nanosecond}
		if service != "" {
			sp.Services = []string{service}
		}
		return sp, err
	}
	return &engine.Func{
		StepID: id, Name: title, On: manager, Comp: component, Needs: needs,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			sp, err := spec(ctx, env)
			if err != nil {
				return false, err
			}
			return Ready(ctx, env, sp)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			sp, err := spec(ctx, env)
			if err != nil {
				return err
			}
			_, err = Wait(ctx, env, sp)
			return err
		},
	}
}
