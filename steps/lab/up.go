package lab

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
)

// Up brings the lab up for `collabstack lab up`: builds the image once,
// creates the network, starts the nodes and waits until each answers SSH.
// It is safe to run again: what runs is left alone.
func Up(ctx context.Context, opts Options) ([]Node, error) {
	o := opts.withDefaults()
	if o.StateDir == "" {
		return nil, fmt.Errorf("lab up: no state directory for the lab keys")
	}
	d, err := connect(ctx, o.Host, o.Out)
	if err != nil {
		return nil, err
	}
	r, err := newRecipe(o.Mirror)
	if err != nil {
		return nil, err
	}
	if err := ensureImage(ctx, d, r, o.Image, o.logf); err != nil {
		return nil, err
	}
	if err := ensureNetwork(ctx, d, o); err != nil {
		return nil, err
	}
	for i := 1; i <= o.Nodes; i++ {
		if _, err := ensureNode(ctx, d, o, r, i); err != nil {
			return nil, err
		}
	}
	nodes := make([]Node, 0, o.Nodes)
	for i := 1; i <= o.Nodes; i++ {
		n, err := waitReady(ctx, d, o, i, BootTimeout)
		if err != nil {
			return nil, err
		}
		o.logf("%s is up at %s (container %s)", n.Name, n.Address, n.Container)
		nodes = append(nodes, *n)
	}
	if extra, _ := List(ctx, opts); len(extra) > o.Nodes {
		o.logf("note: %d more nodes of an earlier, bigger lab still run; `collabstack lab down` removes them all", len(extra)-o.Nodes)
	}
	return nodes, nil
}

// List returns the nodes of the lab that exist, running or not.
func List(ctx context.Context, opts Options) ([]Node, error) {
	o := opts.withDefaults()
	d, err := connect(ctx, o.Host, o.Out)
	if err != nil {
		return nil, err
	}
	names, err := d.list(ctx, "container", labelLab+"="+o.Network)
	if err != nil {
		return nil, err
	}
	var nodes []Node
	for _, name := range names {
		i, err := strconv.Atoi(strings.TrimPrefix(name, o.Network+"-"))
		if err != nil || containerName(o.Network, i) != name {
			continue
		}
		n, err := nodeState(ctx, d, o, i)
		if err != nil {
			return nil, err
		}
		if n != nil {
			nodes = append(nodes, *n)
		}
	}
	sort.Slice(nodes, func(a, b int) bool { return nodeIndex(nodes[a].Name) < nodeIndex(nodes[b].Name) })
	return nodes, nil
}

// Down stops and removes the lab's containers and network. With
// removeVolumes it also deletes each node's /var/lib/docker volume (its
// images, swarm state and the data of the apps it ran); the CLI asks first.
// The lab keys stay in the state directory, so a new lab keeps its host
// keys. Images are kept for the next lab up.
func Down(ctx context.Context, opts Options, removeVolumes bool) error {
	o := opts.withDefaults()
	d, err := connect(ctx, o.Host, o.Out)
	if err != nil {
		return err
	}
	label := labelLab + "=" + o.Network
	names, err := d.list(ctx, "container", label)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		o.logf("stopping %s", strings.Join(names, ", "))
		// A clean halt stops the nested containers first.
		if _, err := d.run(ctx, append([]string{"stop", "-t", "30"}, names...)...); err != nil {
			o.logf("stop: %v; removing anyway", err)
		}
		if _, err := d.run(ctx, append([]string{"rm", "-f", "-v"}, names...)...); err != nil {
			return engine.WithHint(fmt.Errorf("remove the lab containers: %w", err), "remove them by hand: docker rm -f %s", strings.Join(names, " "))
		}
	}
	ok, err := d.exists(ctx, "network", o.Network)
	if err != nil {
		return err
	}
	if ok {
		if _, err := d.run(ctx, "network", "rm", o.Network); err != nil {
			return engine.WithHint(fmt.Errorf("remove the lab network %s: %w", o.Network, err), "a container outside the lab may still use it: docker network inspect %s", o.Network)
		}
		o.logf("removed network %s", o.Network)
	}
	if !removeVolumes {
		if vols, _ := d.list(ctx, "volume", label); len(vols) > 0 {
			o.logf("kept volumes %s (lab down with volumes removes them)", strings.Join(vols, ", "))
		}
		return nil
	}
	vols, err := d.list(ctx, "volume", label)
	if err != nil {
		return err
	}
	if len(vols) > 0 {
		if _, err := d.run(ctx, append([]string{"volume", "rm", "-f"}, vols...)...); err != nil {
			return fmt.Errorf("remove the lab volumes: %w", err)
		}
		o.logf("removed volumes %s", strings.Join(vols, ", "))
	}
	return nil
}

func nodeIndex(name string) int {
	i, _ := strconv.Atoi(strings.TrimPrefix(name, "lab-"))
	return i
}
