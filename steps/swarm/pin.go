package swarm

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
)

// PinPrefix starts the node labels that pin a stack's data to its node:
// collabstack.app.<name>=1 is on exactly one node.
const PinPrefix = "collabstack.app."

// PinLabel is the node label key that pins the stacks of group (an app,
// or the app whose volume others share) to one node.
func PinLabel(group string) string { return PinPrefix + group }

// PinConstraint is the placement constraint of a pinned stack's services.
func PinConstraint(group string) string { return "node.labels." + PinLabel(group) + " == 1" }

// Pin keeps a stack whose services keep data in local volumes on one
// node: the first deploy chooses the node and labels it (the swarm itself
// is the record, so every machine that runs apply sees it), the stack's
// constraint names the label, and nodes added later never receive the
// stack's tasks, so its data never splits or moves.
type Pin struct {
	// Group names the label: PinLabel(Group).
	Group string
	// LabelKey and LabelValue are the node label the pinned node must
	// carry (role=infra): the app's placement in the site.
	LabelKey, LabelValue string
	// Manager asks for a manager node: the stack publishes ports where
	// the site's names point (the edge's node).
	Manager bool
	// Services are the stack's swarm services, main first: a node that
	// runs one of their tasks now holds their data (a stack deployed
	// before pins existed), and is chosen.
	Services []string
	// Volumes are the stack's docker volumes: a node that has one holds
	// the data of an earlier deploy, and is chosen.
	Volumes []string
}

// node is one swarm node as the pin sees it.
type node struct {
	ID, Hostname, Role, State, Availability string
	Labels                                  map[string]string
}

// pinFormat prints one node per line: ID, host name, role, state,
// availability, labels as JSON.
const pinFormat = `{{.ID}}	{{.Description.Hostname}}	{{.Spec.Role}}	{{.Status.State}}	{{.Spec.Availability}}	{{json .Spec.Labels}}`

// parseNodes reads pinFormat's lines.
func parseNodes(out string) ([]node, error) {
	var nodes []node
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.SplitN(line, "\t", 6)
		if len(f) != 6 {
			return nil, fmt.Errorf("unexpected line from docker node inspect: %q", line)
		}
		n := node{ID: f[0], Hostname: f[1], Role: f[2], State: f[3], Availability: f[4], Labels: map[string]string{}}
		if l := strings.TrimSpace(f[5]); l != "" && l != "null" {
			if err := json.Unmarshal([]byte(l), &n.Labels); err != nil {
				return nil, fmt.Errorf("labels of node %s: %w", n.Hostname, err)
			}
		}
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Hostname < nodes[j].Hostname })
	return nodes, nil
}

func readNodes(ctx context.Context, h host.Host) ([]node, error) {
	out, err := h.Run(ctx, "docker node inspect --format "+host.Quote(pinFormat)+" $(docker node ls -q)", host.RunOpts{Sudo: true})
	if err != nil {
		return nil, engine.WithHint(fmt.Errorf("list the swarm's nodes on %s: %w", h.Name(), err), "`docker node ls` on %s shows the swarm's nodes", h.Name())
	}
	return parseNodes(out)
}

// fits says whether n may hold the pinned stack; why not otherwise.
func (p Pin) fits(n node) string {
	var why []string
	if p.LabelKey != "" && n.Labels[p.LabelKey] != p.LabelValue {
		why = append(why, fmt.Sprintf("it is not labelled %s=%s", p.LabelKey, p.LabelValue))
	}
	if p.Manager && n.Role != "manager" {
		why = append(why, "it is not the manager the site's names point at")
	}
	return strings.Join(why, " and ")
}

// pinned finds the node that holds the pin; "" when none does yet. An
// error says the pin cannot be kept (two nodes labelled, or the node no
// longer fits the app's placement): moving data is the user's decision.
func (p Pin) pinned(nodes []node) (node, error) {
	label := PinLabel(p.Group)
	var have []node
	for _, n := range nodes {
		if n.Labels[label] != "" {
			have = append(have, n)
		}
	}
	switch len(have) {
	case 0:
		return node{}, nil
	case 1:
		n := have[0]
		if why := p.fits(n); why != "" {
			return n, engine.WithHint(fmt.Errorf("the data of %s is on node %s (label %s), but %s", p.Group, n.Hostname, label, why),
				"move the data yourself (stop the stack, copy its volumes %s to the node you want, then `docker node update --label-rm %s %s` and `--label-add %s=1` on the new node), or set the app's placement back",
				strings.Join(p.Volumes, ", "), label, n.Hostname, label)
		}
		return n, nil
	}
	var names []string
	for _, n := range have {
		names = append(names, n.Hostname)
	}
	return node{}, engine.WithHint(fmt.Errorf("the data of %s is pinned to %d nodes (%s carry the label %s)", p.Group, len(have), strings.Join(names, ", "), label),
		"keep the label on the node that has its volumes (%s): `docker node update --label-rm %s <node>` on the others", strings.Join(p.Volumes, ", "), label)
}

// choose picks the node for a new pin: one that already runs a task of
// the stack or has one of its volumes, else the fitting node with the
// fewest pinned stacks (host name order breaks ties).
func (p Pin) choose(nodes []node, running []string, hasVolume func(node) bool) (node, string, error) {
	var fit []node
	var refused []string
	for _, n := range nodes {
		if n.State != "ready" || n.Availability != "active" {
			refused = append(refused, n.Hostname+" is "+n.State+"/"+n.Availability)
			continue
		}
		if why := p.fits(n); why != "" {
			refused = append(refused, n.Hostname+": "+why)
			continue
		}
		fit = append(fit, n)
	}
	if len(fit) == 0 {
		want := fmt.Sprintf("label %s=%s", p.LabelKey, p.LabelValue)
		if p.Manager {
			want += " on a manager"
		}
		return node{}, "", engine.WithHint(fmt.Errorf("no swarm node can hold %s (%s): %s", p.Group, want, strings.Join(refused, "; ")),
			"give a node the %s, or change the app's placement", want)
	}
	for _, r := range running {
		for _, n := range fit {
			if n.Hostname == r || n.ID == r {
				return n, "its tasks run there", nil
			}
		}
	}
	if hasVolume != nil {
		for _, n := range fit {
			if hasVolume(n) {
				return n, "its volumes are there", nil
			}
		}
	}
	best := fit[0]
	count := func(n node) int {
		c := 0
		for k := range n.Labels {
			if strings.HasPrefix(k, PinPrefix) {
				c++
			}
		}
		return c
	}
	for _, n := range fit[1:] {
		if count(n) < count(best) {
			best = n
		}
	}
	return best, fmt.Sprintf("the fitting node with the fewest pinned apps (%d)", count(best)), nil
}

// PinDone says whether the pin is in place on a fitting node.
func PinDone(ctx context.Context, h host.Host, p Pin) (bool, error) {
	nodes, err := readNodes(ctx, h)
	if err != nil {
		return false, err
	}
	n, err := p.pinned(nodes)
	return err == nil && n.ID != "", nil
}

// EnsurePin puts the pin on a node when no node has it, on the manager
// the step runs on (env.Host).
func EnsurePin(ctx context.Context, env *engine.Env, p Pin) error {
	nodes, err := readNodes(ctx, env.Host)
	if err != nil {
		return err
	}
	n, err := p.pinned(nodes)
	if err != nil {
		return err
	}
	if n.ID != "" {
		return nil
	}
	var running []string
	for _, svc := range p.Services {
		out, err := env.Host.Run(ctx, "docker service ps --filter desired-state=running --format '{{.Node}}' "+host.Quote(svc), host.RunOpts{Sudo: true})
		if err != nil {
			continue // not deployed yet
		}
		running = append(running, strings.Fields(out)...)
	}
	hasVolume := func(n node) bool {
		if len(p.Volumes) == 0 {
			return false
		}
		h := env.Host
		if env.Hosts != nil && n.Hostname != env.Host.Name() {
			if _, ok := env.Hosts.Spec(n.Hostname); !ok {
				return false
			}
			if h, err = env.Hosts.Get(ctx, n.Hostname); err != nil {
				return false
			}
		}
		out, err := h.Run(ctx, "docker volume ls -q", host.RunOpts{Sudo: true})
		if err != nil {
			return false
		}
		have := strings.Fields(out)
		for _, v := range p.Volumes {
			if contains(have, v) {
				return true
			}
		}
		return false
	}
	n, why, err := p.choose(nodes, running, hasVolume)
	if err != nil {
		return err
	}
	label := PinLabel(p.Group)
	if _, err := env.Sudo(ctx, "docker node update --label-add "+host.Quote(label+"=1")+" "+host.Quote(n.ID)); err != nil {
		return engine.WithHint(fmt.Errorf("pin %s to node %s: %w", p.Group, n.Hostname, err), "`docker node inspect %s` shows its labels", n.Hostname)
	}
	env.Logf("%s keeps its data on node %s (%s): label %s=1", p.Group, n.Hostname, why, label)
	return nil
}

// Unpin takes the pin of group off every node (remove --purge: its data
// is gone, so a later deploy may choose afresh), on the manager h.
func Unpin(ctx context.Context, h host.Host, group string) ([]string, error) {
	nodes, err := readNodes(ctx, h)
	if err != nil {
		return nil, err
	}
	label := PinLabel(group)
	var done []string
	for _, n := range nodes {
		if _, ok := n.Labels[label]; !ok {
			continue
		}
		if _, err := h.Run(ctx, "docker node update --label-rm "+host.Quote(label)+" "+host.Quote(n.ID), host.RunOpts{Sudo: true}); err != nil {
			return done, fmt.Errorf("take the label %s off node %s: %w", label, n.Hostname, err)
		}
		done = append(done, n.Hostname)
	}
	return done, nil
}
