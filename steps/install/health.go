package install

import (
	"context"
	"time"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/health"
	"github.com/collabstack/collabstack/steps/kopnik"
)

// SharedStack is the stack of the registry and Portainer.
const SharedStack = "shared"

// ServiceHealth is one swarm service of a component.
type ServiceHealth struct {
	Name    string `json:"name"`
	Running int    `json:"running"`
	Desired int    `json:"desired"`
	// Restarts counts tasks that failed in the last hour.
	Restarts int `json:"restarts_last_hour"`
	// Problem says why it is not converged; "" when it is.
	Problem string `json:"problem,omitempty"`
}

// ProbeHealth is one probe's result.
type ProbeHealth struct {
	Probe  string `json:"probe"`
	URL    string `json:"url,omitempty"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// ComponentHealth is what the swarm says of one component now and what
// its probes found.
type ComponentHealth struct {
	Name     string          `json:"name"`
	Title    string          `json:"title"`
	URL      string          `json:"url,omitempty"`
	Deployed bool            `json:"deployed"`
	Healthy  bool            `json:"healthy"`
	Services []ServiceHealth `json:"services"`
	Probes   []ProbeHealth   `json:"probes"`
	// Problem says, in one line, why it is not healthy.
	Problem string `json:"problem,omitempty"`
}

// Health reads every component's stack on the manager and runs every
// probe, in one round trip (exec probes of containers on other nodes
// aside): the chosen apps with what they require, kopnik, and the shared
// services when they are deployed. It changes nothing.
func (s *Session) Health(ctx context.Context) ([]ComponentHealth, error) {
	mgr, _, err := s.Manager(ctx)
	if err != nil {
		return nil, err
	}
	type comp struct{ name, title, url string }
	var comps []comp
	var stacks []health.Stack
	if _, ok := s.Site.Components[kopnik.Component]; ok {
		comps = append(comps, comp{kopnik.Component, "kopnik", "https://" + s.Site.Domain + "/"})
		stacks = append(stacks, health.Stack{Name: kopnik.Component, Probes: kopnik.Probes(s.Site)})
	}
	if m := s.Model(); m != nil && len(m.Apps) > 0 {
		c, err := apps.Default()
		if err != nil {
			return nil, err
		}
		chosen := make([]string, 0, len(m.Apps))
		for _, a := range m.Apps {
			chosen = append(chosen, a.Name)
		}
		in := apps.InputFor(s.Site, chosen, nil)
		for _, a := range m.Apps {
			comps = append(comps, comp{a.Name, a.Title, a.URL})
			stacks = append(stacks, health.Stack{Name: a.Name, Probes: c.Probes(a.Name, in)})
		}
	}
	comps = append(comps, comp{SharedStack, "Registry and Portainer", ""})
	stacks = append(stacks, health.Stack{Name: SharedStack})

	states, err := health.ReadAll(ctx, mgr, s.Hosts, stacks)
	if err != nil {
		return nil, s.Redactor.Error(err)
	}
	var out []ComponentHealth
	for _, c := range comps {
		st := states[c.name]
		ch := Judge(c.name, st)
		ch.Title, ch.URL = c.title, c.url
		if c.name == SharedStack && !ch.Deployed {
			continue // not every topology has them
		}
		ch.Problem = s.Redactor.Redact(ch.Problem)
		for i := range ch.Probes {
			ch.Probes[i].Detail = s.Redactor.Redact(ch.Probes[i].Detail)
		}
		out = append(out, ch)
	}
	return out, nil
}

// Judge turns a stack's state into a component's health: deployed when
// the swarm has its services, healthy when every service runs all its
// desired tasks and every probe passes.
func Judge(name string, st health.State) ComponentHealth {
	ch := ComponentHealth{Name: name, Services: []ServiceHealth{}, Probes: []ProbeHealth{}}
	for _, svc := range st.Services {
		if !svc.Known {
			continue
		}
		ch.Deployed = true
		ch.Services = append(ch.Services, ServiceHealth{Name: svc.Name, Running: svc.Running, Desired: svc.Desired, Restarts: svc.Restarts(time.Hour), Problem: svc.Problem()})
		if p := svc.Problem(); p != "" && ch.Problem == "" {
			ch.Problem = svc.Name + ": " + p
		}
	}
	for _, r := range st.Probes {
		ch.Probes = append(ch.Probes, ProbeHealth{Probe: r.Probe.String(), URL: r.Probe.URL(), OK: r.OK, Detail: r.Detail})
		if !r.OK && ch.Problem == "" {
			ch.Problem = r.Probe.String() + ": " + r.Detail
		}
	}
	if !ch.Deployed {
		ch.Problem = "not deployed: run apply"
	}
	ch.Healthy = ch.Problem == ""
	return ch
}
