// Package swarm makes the site's Docker Swarm: init on the manager, join of
// the workers with tokens read live, node labels from the site file, the
// shared overlay network, and deploying stacks so that a re-run with
// nothing changed changes nothing.
package swarm

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/site"
)

// Component is the --only name of the swarm steps.
const Component = "swarm"

// Network is the attachable overlay network stacks share with the edge.
const Network = "collabstack"

// Step IDs.
const (
	InitID    = "swarm/init"
	NetworkID = "swarm/network"
)

// JoinID and LabelsID name the per-node steps.
func JoinID(h string) string   { return "swarm/join/" + h }
func LabelsID(h string) string { return "swarm/labels/" + h }

// ReadyID is the step after which the swarm (with every node labelled)
// is usable: stacks come after it.
const ReadyID = NetworkID

// Members are the site's hosts that are swarm nodes, manager first.
func Members(hosts []site.Host) (manager site.Host, workers []site.Host, err error) {
	found := false
	for _, h := range hosts {
		switch h.Role {
		case site.RoleManager:
			manager, found = h, true
		case site.RoleWorker:
			workers = append(workers, h)
		}
	}
	if !found {
		return manager, nil, fmt.Errorf("the site has no host with role manager: mark one")
	}
	return manager, workers, nil
}

// Steps returns the swarm steps for the site's hosts.
func Steps(hosts []site.Host) ([]engine.Step, error) {
	mgr, workers, err := Members(hosts)
	if err != nil {
		return nil, err
	}
	steps := []engine.Step{initStep(mgr)}
	labelIDs := []string{LabelsID(mgr.Name)}
	steps = append(steps, labelStep(mgr, mgr, []string{InitID}))
	for _, w := range workers {
		steps = append(steps, joinStep(mgr, w), labelStep(mgr, w, []string{JoinID(w.Name)}))
		labelIDs = append(labelIDs, LabelsID(w.Name))
	}
	steps = append(steps, networkStep(mgr, labelIDs))
	return steps, nil
}

// address is where a host is reached: the inventory knows the address of
// hosts made while the plan runs (lab nodes, VMs); the site file of the
// others.
func address(env *engine.Env, h site.Host) string {
	if spec, ok := env.Hosts.Spec(h.Name); ok && spec.Address != "" {
		return spec.Address
	}
	return h.Address
}

func nodeState(ctx context.Context, h host.Host) (state string, manager bool, nodeID string, err error) {
	out, err := h.Run(ctx, "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.NodeID}}'", host.RunOpts{Sudo: true})
	if err != nil {
		return "", false, "", engine.WithHint(fmt.Errorf("ask dockerd on %s about the swarm: %w", h.Name(), err), "check that Docker runs on %s (`systemctl status docker`)", h.Name())
	}
	f := strings.Fields(out)
	for len(f) < 3 {
		f = append(f, "")
	}
	return f[0], f[1] == "true", f[2], nil
}

func initStep(mgr site.Host) engine.Step {
	return &engine.Func{
		StepID: InitID, Name: "Start the swarm on " + mgr.Name, On: mgr.Name, Comp: Component,
		Needs: []string{prepare.ID("docker", mgr.Name)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			state, isMgr, _, err := nodeState(ctx, env.Host)
			if err != nil {
				return false, err
			}
			if state == "active" && !isMgr {
				return false, engine.WithHint(fmt.Errorf("%s is a worker of another swarm", mgr.Name), "run `docker swarm leave` on %s, or make it the manager of that swarm", mgr.Name)
			}
			return state == "active", nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			addr := address(env, mgr)
			// docker swarm init prints the worker join token: its output
			// is withheld (not streamed) until the tokens are stored, so
			// the redactor knows them before any of it is shown.
			out, err := env.Host.Run(ctx, "docker swarm init --advertise-addr "+host.Quote(addr), host.RunOpts{Sudo: true})
			if err != nil {
				return engine.WithHint(fmt.Errorf("start the swarm on %s: %w", mgr.Name, err), "check that %s is an address of %s itself", addr, mgr.Name)
			}
			if err := storeTokens(ctx, env.Host, env); err != nil {
				return err
			}
			if first, _, _ := strings.Cut(strings.TrimSpace(out), "\n"); first != "" {
				env.Logf("%s", first)
			}
			return nil
		},
	}
}

// joinScript reads the token on stdin, so it is on no command line.
const joinScript = `IFS= read -r token; exec docker swarm join --token "$token" "$1"`

func joinStep(mgr, w site.Host) engine.Step {
	return &engine.Func{
		StepID: JoinID(w.Name), Name: "Join " + w.Name + " to the swarm", On: w.Name, Comp: Component,
		Needs: []string{InitID, prepare.ID("docker", w.Name)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			state, _, _, err := nodeState(ctx, env.Host)
			return state == "active", err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			m, err := env.Hosts.Get(ctx, mgr.Name)
			if err != nil {
				return err
			}
			if err := storeTokens(ctx, m, env); err != nil {
				return err
			}
			token, _ := env.Secrets.Get(workerToken)
			addr := address(env, mgr)
			out, err := env.Host.Run(ctx, "sh -c "+host.Quote(joinScript)+" join "+host.Quote(addr+":2377"), host.RunOpts{Sudo: true, Stdin: []byte(token + "\n"), Output: env.Out})
			if err != nil && strings.Contains(out+err.Error(), "attempt to join the swarm will continue in the background") {
				// dockerd gave up waiting, not joining (a busy node): the
				// join goes on, and is done once the node is active.
				err = waitActive(ctx, env, 3*time.Minute)
			}
			if err != nil {
				return engine.WithHint(fmt.Errorf("join %s to the swarm: %w", w.Name, err), "%s must reach %s on TCP 2377 and 7946 and UDP 4789 and 7946", w.Name, addr)
			}
			return nil
		},
	}
}

// waitActive waits until the node env.Host is an active swarm member.
func waitActive(ctx context.Context, env *engine.Env, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		state, _, _, err := nodeState(ctx, env.Host)
		if err == nil && state == "active" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is still not an active swarm member after %s (state %q)", env.Host.Name(), within, state)
		}
		env.Logf("%s is joining the swarm (state %s)", env.Host.Name(), state)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

func labelStep(mgr, node site.Host, after []string) engine.Step {
	labels := node.Labels
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var want []string
	for _, k := range keys {
		want = append(want, k+"="+labels[k])
	}
	nodeID := func(ctx context.Context, env *engine.Env) (string, host.Host, error) {
		nh, err := env.Hosts.Get(ctx, node.Name)
		if err != nil {
			return "", nil, err
		}
		_, _, id, err := nodeState(ctx, nh)
		if err != nil {
			return "", nil, err
		}
		return id, nh, nil
	}
	return &engine.Func{
		StepID: LabelsID(node.Name), Name: fmt.Sprintf("Label %s %s", node.Name, strings.Join(want, ",")), On: mgr.Name, Comp: Component,
		Needs: after,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			id, _, err := nodeID(ctx, env)
			if err != nil || id == "" {
				return false, err
			}
			out, err := env.Host.Run(ctx, "docker node inspect --format '{{range $k, $v := .Spec.Labels}}{{$k}}={{$v}} {{end}}' "+host.Quote(id), host.RunOpts{Sudo: true})
			if err != nil {
				return false, err
			}
			have := strings.Fields(out)
			for _, w := range want {
				if !contains(have, w) {
					return false, nil
				}
			}
			return true, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			id, _, err := nodeID(ctx, env)
			if err != nil {
				return err
			}
			args := []string{"docker", "node", "update"}
			for _, w := range want {
				args = append(args, "--label-add", host.Quote(w))
			}
			args = append(args, host.Quote(id))
			_, err = env.Sudo(ctx, strings.Join(args, " "))
			return err
		},
	}
}

func networkStep(mgr site.Host, after []string) engine.Step {
	return &engine.Func{
		StepID: NetworkID, Name: "Create the overlay network " + Network, On: mgr.Name, Comp: Component, Needs: after,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			_, err := env.Host.Run(ctx, "docker network inspect --format ok "+Network, host.RunOpts{Sudo: true})
			return err == nil, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			_, err := env.Sudo(ctx, "docker network create --driver overlay --attachable "+Network)
			return err
		},
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Names of the swarm's join tokens in the secrets file.
const (
	workerToken  = "swarm-worker-token"
	managerToken = "swarm-manager-token"
)

// storeTokens reads the swarm's join tokens on the manager m and keeps
// them with the secrets, so the engine redacts them everywhere from now
// on (the redactor also knows their shape, for output printed before).
func storeTokens(ctx context.Context, m host.Host, env *engine.Env) error {
	for _, t := range []struct{ role, name string }{{"worker", workerToken}, {"manager", managerToken}} {
		out, err := m.Run(ctx, "docker swarm join-token -q "+t.role, host.RunOpts{Sudo: true})
		if err != nil {
			return fmt.Errorf("read the %s join token on %s: %w", t.role, m.Name(), err)
		}
		token := strings.TrimSpace(out)
		if token == "" {
			return fmt.Errorf("read the %s join token on %s: empty", t.role, m.Name())
		}
		if v, ok := env.Secrets.Get(t.name); ok && v == token {
			continue
		}
		if err := env.Secrets.Set(t.name, token); err != nil {
			return err
		}
	}
	return nil
}
