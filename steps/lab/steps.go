package lab

import (
	"context"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/site"
)

// Component is the --only name of the lab steps.
const Component = "lab"

// BootTimeout bounds how long a node may take to boot and answer SSH.
const BootTimeout = 6 * time.Minute

// Step IDs.
const (
	ImageID   = "lab/image"
	NetworkID = "lab/network"
)

// NodeID is the ID of the step that starts a node ("lab/node/lab-1").
func NodeID(name string) string { return "lab/node/" + name }

// ReadyID is the ID of the step that waits for a node to boot and answer
// SSH ("lab/ready/lab-1"); steps on the node come after it (the recipe
// puts layout.ReachID(name) after it).
func ReadyID(name string) string { return "lab/ready/" + name }

// Steps are the plan steps that bring the lab up, all on the host "local":
// build the image, create the network, start each node, wait for each to
// answer SSH. The node steps register their node (lab-1, ...) in the
// inventory, in Check too, so a re-run that changes nothing still lets the
// later steps reach the nodes.
func Steps(s *site.Site, stateDir string) []engine.Step {
	return stepsFor(OptionsFor(s, stateDir))
}

func stepsFor(o Options) []engine.Step {
	setup := func(ctx context.Context, env *engine.Env) (*docker, Options, recipe, error) {
		opts := o
		opts.Host, opts.Out = env.Host, env.Out
		d, err := connect(ctx, env.Host, env.Out)
		if err != nil {
			return nil, opts, recipe{}, err
		}
		r, err := newRecipe(opts.Mirror)
		return d, opts, r, err
	}
	out := []engine.Step{
		&engine.Func{
			StepID: ImageID, Name: "Build the lab host image", On: layout.LocalHost, Comp: Component,
			CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
				d, opts, r, err := setup(ctx, env)
				if err != nil {
					return false, err
				}
				return imageReady(ctx, d, r, opts.Image)
			},
			ApplyFunc: func(ctx context.Context, env *engine.Env) error {
				d, opts, r, err := setup(ctx, env)
				if err != nil {
					return err
				}
				return ensureImage(ctx, d, r, opts.Image, opts.logf)
			},
		},
		&engine.Func{
			StepID: NetworkID, Name: "Create the lab network " + o.Network, On: layout.LocalHost, Comp: Component,
			CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
				d, opts, _, err := setup(ctx, env)
				if err != nil {
					return false, err
				}
				return networkReady(ctx, d, opts)
			},
			ApplyFunc: func(ctx context.Context, env *engine.Env) error {
				d, opts, _, err := setup(ctx, env)
				if err != nil {
					return err
				}
				return ensureNetwork(ctx, d, opts)
			},
		},
	}
	for i := 1; i <= o.Nodes; i++ {
		name := NodeName(i)
		register := func(env *engine.Env, n *Node) {
			if n != nil && n.Address != "" && env.Hosts != nil {
				env.Hosts.Register(n.Spec(o.StateDir))
			}
		}
		out = append(out,
			&engine.Func{
				StepID: NodeID(name), Name: "Start lab node " + name, On: layout.LocalHost, Comp: Component,
				Needs: []string{ImageID, NetworkID},
				CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
					d, opts, _, err := setup(ctx, env)
					if err != nil {
						return false, err
					}
					n, err := nodeState(ctx, d, opts, i)
					if err != nil || n == nil || !n.Running {
						return false, err
					}
					register(env, n)
					return true, nil
				},
				ApplyFunc: func(ctx context.Context, env *engine.Env) error {
					d, opts, r, err := setup(ctx, env)
					if err != nil {
						return err
					}
					n, err := ensureNode(ctx, d, opts, r, i)
					register(env, n)
					return err
				},
			},
			&engine.Func{
				StepID: ReadyID(name), Name: "Wait for lab node " + name + " to boot and answer SSH", On: layout.LocalHost, Comp: Component,
				Needs: []string{NodeID(name)},
				CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
					d, opts, _, err := setup(ctx, env)
					if err != nil {
						return false, err
					}
					ok, _, err := nodeReady(ctx, d, opts, i)
					if err != nil || !ok {
						return false, err
					}
					n, err := nodeState(ctx, d, opts, i)
					register(env, n)
					return err == nil, err
				},
				ApplyFunc: func(ctx context.Context, env *engine.Env) error {
					d, opts, _, err := setup(ctx, env)
					if err != nil {
						return err
					}
					n, err := waitReady(ctx, d, opts, i, BootTimeout)
					register(env, n)
					return err
				},
			},
		)
	}
	return out
}
