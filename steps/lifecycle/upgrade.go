package lifecycle

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/health"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// Change is one service whose running image is not the one this
// collabstack pins: what `upgrade` would deploy.
type Change struct {
	Component, Service string
	Running, Pinned    string
}

func (c Change) String() string {
	return fmt.Sprintf("%s: %s runs %s, this collabstack pins %s", c.Component, c.Service, c.Running, c.Pinned)
}

// PinnedImages renders the stacks of the named apps (every chosen app
// when names is empty) and returns their services' images, by the
// service's swarm name (etherpad_etherpad).
func PinnedImages(c *apps.Catalog, s *site.Site, names []string) (map[string]string, map[string]string, error) {
	chosen, err := c.Selected(s)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		names = chosen
	}
	images, owner := map[string]string{}, map[string]string{}
	// Images do not depend on secrets: a stand-in value renders them.
	in := apps.InputFor(s, chosen, func(string) (string, error) { return "x" + strings.Repeat("0", 31), nil })
	for _, n := range names {
		if !slices.Contains(chosen, n) {
			return nil, nil, fmt.Errorf("%q is not a chosen app of the site (collabstack apps lists them)", n)
		}
		st, err := c.Render(n, in)
		if err != nil {
			return nil, nil, err
		}
		svcImages, err := swarm.ServiceImages(st.Files["stack.yaml"])
		if err != nil {
			return nil, nil, fmt.Errorf("%s's stack: %w", n, err)
		}
		for svc, img := range svcImages {
			images[apps.ServiceName(n, svc)] = img
			owner[apps.ServiceName(n, svc)] = n
		}
	}
	return images, owner, nil
}

// RunningImages reads every swarm service's image on the manager
// (digests cut off), by service name.
func RunningImages(ctx context.Context, mgr host.Host) (map[string]string, error) {
	out, err := mgr.Run(ctx, "docker service ls --format '{{.Name}} {{.Image}}'", host.RunOpts{Sudo: true})
	if err != nil {
		return nil, err
	}
	return parseServiceImages(out), nil
}

func parseServiceImages(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue
		}
		img, _, _ := strings.Cut(f[1], "@")
		m[f[0]] = img
	}
	return m
}

// Pending compares pinned with running images: the services to upgrade,
// sorted. A service that does not run yet is not an upgrade (apply adds
// it).
func Pending(pinned, owner, running map[string]string) []Change {
	var out []Change
	for svc, want := range pinned {
		have, ok := running[svc]
		if !ok || health.SameImage(have, want) {
			continue
		}
		out = append(out, Change{Component: owner[svc], Service: svc, Running: have, Pinned: want})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// Components are the components the changes touch, sorted, once each.
func Components(changes []Change) []string {
	var out []string
	for _, c := range changes {
		if !slices.Contains(out, c.Component) {
			out = append(out, c.Component)
		}
	}
	sort.Strings(out)
	return out
}

// RollBack puts each service back on its previous specification (the one
// before the failed deploy: docker keeps it) and waits for it to run.
func RollBack(ctx context.Context, mgr host.Host, services []string, out func(string)) error {
	var errs []string
	for _, svc := range services {
		if _, err := mgr.Run(ctx, "docker service rollback --detach=false --quiet "+host.Quote(svc), host.RunOpts{Sudo: true, Output: out}); err != nil {
			errs = append(errs, svc+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("roll back %s", strings.Join(errs, "; "))
	}
	return nil
}
