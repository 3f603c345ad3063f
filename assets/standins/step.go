package standins

import (
	"context"
	"fmt"
	"slices"
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
			so := Options{Host: env.Host, Out: syncOut(env.Out), Lab: o}
			// Every node at once: what it lacks, and what it cannot pull.
			unpulled := make([][]string, len(nodes))
			var wg sync.WaitGroup
			for i, n := range nodes {
				wg.Go(func() {
					missing, _ := missingOn(ctx, env.Host, n.Container)
					for _, r := range missing {
						if _, err := env.Host.Run(ctx, "docker exec "+host.Quote(n.Container)+" docker pull -q "+host.Quote(r), host.RunOpts{}); err != nil {
							unpulled[i] = append(unpulled[i], r)
						}
					}
				})
			}
			wg.Wait()
			// The stand-ins all nodes need are built once (in parallel),
			// then each node loads the ones it lacks, nodes at once.
			var all []string
			for i, n := range nodes {
				if len(unpulled[i]) > 0 {
					env.Logf("%s cannot pull %d images; building stand-ins from Debian packages", n.Name, len(unpulled[i]))
				}
				for _, r := range unpulled[i] {
					if !contains(all, r) {
						all = append(all, r)
					}
				}
			}
			if len(all) == 0 {
				return nil
			}
			imgs, err := Build(ctx, so, all...)
			if err != nil {
				return fmt.Errorf("build stand-ins for the lab: %w", err)
			}
			errs := make([]error, len(nodes))
			for i, n := range nodes {
				need := imagesFor(imgs, unpulled[i])
				if len(need) == 0 {
					continue
				}
				wg.Go(func() { errs[i] = Load(ctx, so, []string{n.Container}, need) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// imagesFor are the stand-ins among imgs that carry one of refs (with all
// their tags, as a node loading a stand-in always got them).
func imagesFor(imgs []Image, refs []string) []Image {
	var out []Image
	for _, img := range imgs {
		for _, t := range img.Tags {
			if slices.ContainsFunc(refs, func(r string) bool { return normalRef(r) == normalRef(t) }) {
				out = append(out, img)
				break
			}
		}
	}
	return out
}

// syncOut makes a progress function safe to call from several goroutines.
func syncOut(out func(string)) func(string) {
	if out == nil {
		return nil
	}
	var mu sync.Mutex
	return func(line string) {
		mu.Lock()
		defer mu.Unlock()
		out(line)
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
