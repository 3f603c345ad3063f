package install

import (
	"context"
	"fmt"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// SiteHosts returns the site's hosts as the plan sees them: the site file's,
// or in a lab the nodes, registered in the inventory when they run.
func (s *Session) SiteHosts(ctx context.Context) ([]site.Host, error) {
	if s.Site.Topology != site.TopologyLab || len(s.Site.Hosts) > 0 {
		return s.Site.Hosts, nil
	}
	nodes, err := lab.List(ctx, lab.OptionsFor(s.Site, s.Site.StateDir))
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if n.Address != "" {
			s.Hosts.Register(n.Spec(s.Site.StateDir))
		}
	}
	return lab.SiteHosts(s.Site.Lab.Nodes, s.Site.StateDir), nil
}

// Manager connects to the swarm manager; address is where every node
// reaches it (the registry is there).
func (s *Session) Manager(ctx context.Context) (h host.Host, address string, err error) {
	hosts, err := s.SiteHosts(ctx)
	if err != nil {
		return nil, "", err
	}
	mgr, _, err := swarm.Members(hosts)
	if err != nil {
		return nil, "", err
	}
	spec, ok := s.Hosts.Spec(mgr.Name)
	if !ok || spec.Address == "" {
		return nil, "", engine.WithHint(fmt.Errorf("the manager %s does not run", mgr.Name), "run `collabstack apply` first")
	}
	h, err = s.Hosts.Get(ctx, mgr.Name)
	if err != nil {
		return nil, "", err
	}
	return h, spec.Address, nil
}
