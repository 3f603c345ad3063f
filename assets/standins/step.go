package standins

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/layout"
)

// StepID is the ID of the lab's image step.
const StepID = "lab/images"

// LabStep makes sure every lab node has the images refs: each node first
// tries to pull them, and what cannot be pulled (no Docker Hub) is built
// here from Debian packages and loaded, saying loudly that stand-ins are
// in use. It is for the lab only: real hosts pull, use a mirror or a bundle.
func LabStep(o lab.Options, refs []string, after []string) engine.Step {
	missingOn := func(ctx context.Context, h host.Host, container string) ([]string, error) {
		// One question per node for all images: a no-op re-run must not
		// pay a round trip per image and node.
		out, err := h.Run(ctx, "docker exec "+host.Quote(container)+" docker image ls --format '{{.Repository}}:{{.Tag}}'", host.RunOpts{})
		if err != nil {
			return nil, fmt.Errorf("list the images of %s: %w", container, err)
		}
		have := map[string]bool{}
		for _, l := range strings.Fields(out) {
			have[normalRef(l)] = true
		}
		var missing []string
		for _, r := range refs {
			if !have[normalRef(r)] {
				missing = append(missing, r)
			}
		}
		return missing, nil
	}
	return &engine.Func{
		StepID: StepID, Name: "Get the images onto the lab nodes", On: layout.LocalHost, Comp: lab.Component, Needs: after,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			nodes, err := lab.List(ctx, o)
			if err != nil {
				return false, err
			}
			// The nodes are asked at once, not one after another.
			missing := make([][]string, len(nodes))
			errs := make([]error, len(nodes))
			var wg sync.WaitGroup
			for i, n := range nodes {
				wg.Go(func() { missing[i], errs[i] = missingOn(ctx, env.Host, n.Container) })
			}
			wg.Wait()
			for i := range nodes {
				if errs[i] != nil || len(missing[i]) > 0 {
					return false, errs[i]
				}
			}
			return len(nodes) > 0, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			nodes, err := lab.List(ctx, o)
			if err != nil {
				return err
			}
			so := Options{Host: env.Host, Out: env.Out, Lab: o}
			for _, n := range nodes {
				missing, _ := missingOn(ctx, env.Host, n.Container)
				var unpulled []string
				for _, r := range missing {
					if _, err := env.Host.Run(ctx, "docker exec "+host.Quote(n.Container)+" docker pull -q "+host.Quote(r), host.RunOpts{}); err != nil {
						unpulled = append(unpulled, r)
					}
				}
				if len(unpulled) == 0 {
					continue
				}
				env.Logf("%s cannot pull %d images; building stand-ins from Debian packages", n.Name, len(unpulled))
				imgs, err := Build(ctx, so, unpulled...)
				if err != nil {
					return fmt.Errorf("build stand-ins for the lab: %w", err)
				}
				if err := Load(ctx, so, []string{n.Container}, imgs); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// normalRef is an image reference as `docker image ls` names it: no
// docker.io/ or library/ prefix, and :latest when no tag is given.
func normalRef(r string) string {
	r = strings.TrimPrefix(r, "docker.io/")
	r = strings.TrimPrefix(r, "library/")
	if i := strings.LastIndex(r, ":"); i < 0 || strings.Contains(r[i:], "/") {
		r += ":latest"
	}
	return r
}
