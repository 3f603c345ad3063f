package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
)

// StacksDir holds the rendered stack files on the manager.
const StacksDir = "/var/lib/collabstack/stacks"

// Stack is a rendered stack: its compose file and the files it refers to
// (configs such as an nginx.conf), all written beside it.
type Stack struct {
	Name  string
	Files map[string][]byte // "stack.yaml" and any config files
}

// DeployStep deploys a stack on the manager. It is done when the files on
// the manager are the ones rendered now and every service of the stack
// exists, so a re-run with nothing changed changes nothing and a changed
// template or option redeploys.
func DeployStep(id, title, manager, component string, needs []string, render func(ctx context.Context, env *engine.Env) (Stack, error)) engine.Step {
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
			missing, err := missingServices(ctx, env.Host, st)
			return err == nil && len(missing) == 0, err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			st, err := render(ctx, env)
			if err != nil {
				return err
			}
			dir := StacksDir + "/" + st.Name
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
			return nil
		},
	}
}

// missingServices lists the services of st's compose file that the swarm
// does not have.
func missingServices(ctx context.Context, h host.Host, st Stack) ([]string, error) {
	out, err := h.Run(ctx, "docker stack services --format '{{.Name}}' "+host.Quote(st.Name), host.RunOpts{Sudo: true})
	if err != nil {
		return nil, nil // no such stack yet
	}
	have := strings.Fields(out)
	var missing []string
	for _, s := range ServiceNames(st.Files["stack.yaml"]) {
		if !contains(have, st.Name+"_"+s) {
			missing = append(missing, s)
		}
	}
	return missing, nil
}
