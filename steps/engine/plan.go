package engine

import (
	"fmt"
	"sort"
	"strings"
)

// Plan is a DAG of steps.
type Plan struct {
	steps map[string]Step
	order []string // insertion order, for stable output
}

// NewPlan returns an empty plan.
func NewPlan() *Plan { return &Plan{steps: map[string]Step{}} }

// Add puts steps in the plan. A duplicate ID is an error (a bug in a plan
// builder, reported rather than silently overwritten).
func (p *Plan) Add(steps ...Step) error {
	for _, s := range steps {
		id := s.ID()
		if id == "" {
			return fmt.Errorf("plan: a step titled %q has no ID", s.Title())
		}
		if _, dup := p.steps[id]; dup {
			return fmt.Errorf("plan: two steps have the ID %q", id)
		}
		p.steps[id] = s
		p.order = append(p.order, id)
	}
	return nil
}

// MustAdd is Add for plan builders whose IDs are known to be unique.
func (p *Plan) MustAdd(steps ...Step) {
	if err := p.Add(steps...); err != nil {
		panic(err)
	}
}

// Step returns the step with that ID.
func (p *Plan) Step(id string) (Step, bool) {
	s, ok := p.steps[id]
	return s, ok
}

// Len is the number of steps.
func (p *Plan) Len() int { return len(p.order) }

// Validate reports a dependency on a missing step or a cycle, naming it.
func (p *Plan) Validate() error {
	for _, id := range p.order {
		for _, dep := range p.steps[id].After() {
			if _, ok := p.steps[dep]; !ok {
				return fmt.Errorf("plan: step %q needs %q, which is not in the plan", id, dep)
			}
		}
	}
	if cyc := p.findCycle(); cyc != nil {
		return fmt.Errorf("plan: steps depend on each other in a cycle: %s", strings.Join(cyc, " -> "))
	}
	return nil
}

func (p *Plan) findCycle() []string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var cycle []string
	var visit func(id string) bool
	visit = func(id string) bool {
		color[id] = grey
		stack = append(stack, id)
		deps := append([]string(nil), p.steps[id].After()...)
		sort.Strings(deps)
		for _, d := range deps {
			switch color[d] {
			case grey:
				for i, s := range stack {
					if s == d {
						cycle = append(append([]string(nil), stack[i:]...), d)
						return true
					}
				}
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
		return false
	}
	for _, id := range p.order {
		if color[id] == white && visit(id) {
			return cycle
		}
	}
	return nil
}

// Order returns the step IDs in a topological order, ties broken by the
// order in which steps were added. Call Validate first.
func (p *Plan) Order() []string {
	indeg := map[string]int{}
	children := map[string][]string{}
	pos := map[string]int{}
	for i, id := range p.order {
		pos[id] = i
		for _, d := range p.steps[id].After() {
			indeg[id]++
			children[d] = append(children[d], id)
		}
	}
	var ready []string
	for _, id := range p.order {
		if indeg[id] == 0 {
			ready = append(ready, id)
		}
	}
	var out []string
	for len(ready) > 0 {
		sort.Slice(ready, func(i, j int) bool { return pos[ready[i]] < pos[ready[j]] })
		id := ready[0]
		ready = ready[1:]
		out = append(out, id)
		for _, c := range children[id] {
			indeg[c]--
			if indeg[c] == 0 {
				ready = append(ready, c)
			}
		}
	}
	return out
}

// Only returns a plan with the steps of the named components plus every
// step they need, transitively. Unknown components are an error.
func (p *Plan) Only(components ...string) (*Plan, error) {
	want := map[string]bool{}
	for _, c := range components {
		want[c] = true
	}
	found := map[string]bool{}
	keep := map[string]bool{}
	var add func(id string)
	add = func(id string) {
		if keep[id] {
			return
		}
		keep[id] = true
		for _, d := range p.steps[id].After() {
			if _, ok := p.steps[d]; ok {
				add(d)
			}
		}
	}
	for _, id := range p.order {
		if c, ok := p.steps[id].(Componented); ok && want[c.Component()] {
			found[c.Component()] = true
			add(id)
		}
	}
	for _, c := range components {
		if !found[c] {
			return nil, fmt.Errorf("--only %s: no step of the plan belongs to component %q; list them with `collabstack plan`", c, c)
		}
	}
	out := NewPlan()
	for _, id := range p.order {
		if keep[id] {
			out.MustAdd(p.steps[id])
		}
	}
	return out, nil
}
