package engine

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/collabstack/collabstack/steps/host"
)

// Dialer connects to a host described by a Spec. The Inventory passes
// itself so a dialer can reach a jump host by name.
type Dialer func(ctx context.Context, spec host.Spec, inv *Inventory) (host.Host, error)

// Inventory holds the hosts of a run: those of the site file and those
// registered by steps while the plan runs. It keeps one connection per
// host, opened on first use and shared by every step on that host.
type Inventory struct {
	mu      sync.Mutex
	specs   map[string]host.Spec
	conns   map[string]host.Host
	dialing map[string]*dialCall
	dial    Dialer
}

type dialCall struct {
	done chan struct{}
	h    host.Host
	err  error
}

// NewInventory returns an inventory that connects with dial.
func NewInventory(dial Dialer, specs ...host.Spec) *Inventory {
	inv := &Inventory{specs: map[string]host.Spec{}, conns: map[string]host.Host{}, dialing: map[string]*dialCall{}, dial: dial}
	for _, s := range specs {
		inv.specs[s.Name] = s
	}
	return inv
}

// Register adds or replaces a host. A replaced host's open connection is
// closed so the next Get dials the new address.
func (inv *Inventory) Register(spec host.Spec) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if old, ok := inv.specs[spec.Name]; ok && old != spec {
		if c := inv.conns[spec.Name]; c != nil {
			c.Close()
			delete(inv.conns, spec.Name)
		}
	}
	inv.specs[spec.Name] = spec
}

// Spec returns a host's spec.
func (inv *Inventory) Spec(name string) (host.Spec, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	s, ok := inv.specs[name]
	return s, ok
}

// Names lists the known hosts, sorted.
func (inv *Inventory) Names() []string {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	var out []string
	for n := range inv.specs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Get returns the connected host, dialing it once.
func (inv *Inventory) Get(ctx context.Context, name string) (host.Host, error) {
	inv.mu.Lock()
	if c := inv.conns[name]; c != nil {
		inv.mu.Unlock()
		return c, nil
	}
	spec, ok := inv.specs[name]
	if !ok {
		inv.mu.Unlock()
		return nil, WithHint(fmt.Errorf("host %q is not known", name), "add it under hosts: in the site file, or run the step that creates it first")
	}
	if call := inv.dialing[name]; call != nil {
		inv.mu.Unlock()
		select {
		case <-call.done:
			return call.h, call.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	call := &dialCall{done: make(chan struct{})}
	inv.dialing[name] = call
	inv.mu.Unlock()

	call.h, call.err = inv.dial(ctx, spec, inv)

	inv.mu.Lock()
	delete(inv.dialing, name)
	if call.err == nil {
		inv.conns[name] = call.h
	}
	inv.mu.Unlock()
	close(call.done)
	return call.h, call.err
}

// Close closes every open connection.
func (inv *Inventory) Close() error {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	var first error
	for n, c := range inv.conns {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
		delete(inv.conns, n)
	}
	return first
}

// RoundTrips counts, per connected host whose transport keeps the count
// (SSH does), the commands, uploads and reads sent so far.
func (inv *Inventory) RoundTrips() map[string]int64 {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	out := map[string]int64{}
	for n, c := range inv.conns {
		if rt, ok := c.(interface{ RoundTrips() int64 }); ok {
			out[n] = rt.RoundTrips()
		}
	}
	return out
}
