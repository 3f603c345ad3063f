// Package recipe builds the plan of a site: which steps, on which hosts,
// in which order, for the site's topology and components. Each concern
// (hosts, lab, proxmox, network, swarm, apps) exports functions returning
// its steps; this package only composes them.
package recipe

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/collabstack/collabstack/assets/standins"
	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/backup"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/facts"
	"github.com/collabstack/collabstack/steps/firewall"
	"github.com/collabstack/collabstack/steps/identity"
	"github.com/collabstack/collabstack/steps/images"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/network"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/proxmox"
	"github.com/collabstack/collabstack/steps/pveinstall"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/standby"
	"github.com/collabstack/collabstack/steps/swarm"
)

// Build returns the plan for s (loaded, so StateDir is resolved).
func Build(s *site.Site) (*engine.Plan, error) {
	p := engine.NewPlan()
	hosts := s.Hosts
	if s.Topology == site.TopologyLab {
		// The lab's nodes are made by the plan itself; from then on they
		// are hosts like any other.
		if err := p.Add(lab.Steps(s, s.StateDir)...); err != nil {
			return nil, err
		}
		if len(hosts) == 0 {
			hosts = lab.SiteHosts(s.Lab.Nodes, s.StateDir)
		}
	}
	var pxSet *proxmox.Set
	if s.Topology == site.TopologySingle || s.Topology == site.TopologyFull {
		px, vms, err := addProxmox(p, s)
		if err != nil {
			return nil, err
		}
		pxSet = px
		hosts = append(append([]site.Host(nil), hosts...), vms...)
	}
	for _, h := range hosts {
		var after []string
		if s.Topology == site.TopologyLab {
			after = append(after, lab.ReadyID(h.Name))
		}
		if _, ok := proxmox.SiteVM(s, h.Name); ok {
			// Its ready step has taken the first snapshot.
			after = append(after, proxmox.ReadyID(h.Name))
		}
		if err := p.Add(ReachStep(h.Name, after...)); err != nil {
			return nil, err
		}
		if h.Role == site.RoleManager || h.Role == site.RoleWorker || h.Role == site.RoleStandby {
			if err := p.Add(prepare.Steps(s, h.Name)...); err != nil {
				return nil, err
			}
			if err := p.Add(images.Steps(s, filepath.Dir(s.StateDir), h.Name, prepare.ID("docker", h.Name))...); err != nil {
				return nil, err
			}
			if err := p.Add(firewall.Steps(s, swarmHosts(hosts), h.Name, firewall.Options{}, prepare.ID("docker", h.Name))...); err != nil {
				return nil, err
			}
		}
		// Routers and VPN hosts the user already has; Proxmox VE hosts.
		switch h.Role {
		case site.RolePVEServer, site.RolePVERouter:
			if err := p.Add(pveinstall.Steps(s, h.Name, layout.ReachID(h.Name))...); err != nil {
				return nil, err
			}
		case site.RoleRouter:
			rs := network.RouterSteps(s, h.Name)
			if _, ok := proxmox.SiteVM(s, h.Name); pxSet != nil && ok {
				// The router's configuration can cut it off: a snapshot
				// first, for `collabstack rollback`.
				rs = append(rs, pxSet.SnapshotStep(h.Name, UCISnapshot, network.RouterID(h.Name, "access")))
				for _, st := range rs {
					if f, ok := st.(*engine.Func); ok && f.StepID == network.RouterID(h.Name, "uci") {
						f.Needs = append(f.Needs, proxmox.SnapshotID(h.Name, UCISnapshot))
					}
				}
			}
			if err := p.Add(rs...); err != nil {
				return nil, err
			}
		case site.RoleVPN:
			if err := p.Add(network.SoftEtherSteps(s, h.Name, s.StateDir)...); err != nil {
				return nil, err
			}
			if err := p.Add(network.DNSSteps(s, h.Name, network.SmartDNSOptions{})...); err != nil {
				return nil, err
			}
		}
	}
	if _, _, err := swarm.Members(hosts); err == nil {
		if err := addSwarm(p, s, swarmHosts(hosts)); err != nil {
			return nil, err
		}
		bs, err := backup.Steps(s, hosts)
		if err != nil {
			return nil, err
		}
		if err := p.Add(bs...); err != nil {
			return nil, err
		}
		ss, err := standby.Steps(s, hosts)
		if err != nil {
			return nil, err
		}
		if err := p.Add(ss...); err != nil {
			return nil, err
		}
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("build the plan: %w", err)
	}
	return p, nil
}

// UCISnapshot labels the snapshot of a router VM taken before its
// configuration (collabstack-before-uci).
const UCISnapshot = "before-uci"

// addProxmox adds the VM steps of every PVE host (after its PVE install)
// and returns the VMs as hosts for the steps of their roles. Debian VMs
// are made once the outer router is configured: it is their way out.
func addProxmox(p *engine.Plan, s *site.Site) (*proxmox.Set, []site.Host, error) {
	after := map[string][]string{}
	if s.Proxmox != nil {
		outer := ""
		for _, vm := range s.Proxmox.VMs {
			if vm.Kind == site.VMOpenWrt && outer == "" {
				outer = vm.Name
			}
		}
		for _, vm := range s.Proxmox.VMs {
			if vm.Kind == site.VMDebian && outer != "" {
				after[vm.Name] = []string{network.RouterID(outer, "uci")}
			}
		}
	}
	px := proxmox.New(s, s.StateDir, proxmox.Options{VMAfter: after})
	for _, h := range s.Hosts {
		if h.Role == site.RolePVEServer || h.Role == site.RolePVERouter {
			if err := p.Add(px.Steps(h.Name, pveinstall.LastID(h.Name))...); err != nil {
				return nil, nil, err
			}
		}
	}
	return px, px.SiteHosts(), nil
}

// swarmHosts are the hosts the swarm steps see: managers, workers and
// standbys.
func swarmHosts(hosts []site.Host) []site.Host {
	var out []site.Host
	for _, h := range hosts {
		if h.Role == site.RoleManager || h.Role == site.RoleWorker || h.Role == site.RoleStandby {
			out = append(out, h)
		}
	}
	return out
}

// ReachStep connects to a host and reads its facts. It changes nothing, so
// it is done as soon as it has read them.
func ReachStep(hostName string, after ...string) engine.Step {
	return &engine.Func{
		StepID: layout.ReachID(hostName),
		Name:   "Connect to " + hostName,
		On:     hostName,
		Needs:  after,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			f, err := facts.Gather(ctx, env.Host)
			if err != nil {
				return false, err
			}
			env.Logf("%s: %s", hostName, f)
			return true, nil
		},
	}
}

// onLabelsThatExist returns s, or a copy of it in which the components
// placed on a label that no swarm node carries run on the manager's label
// instead: a site of one node (a one-node lab, a single existing server)
// has no node labelled common, and a stack constrained to it would wait
// for a node forever. The site file is not changed.
func onLabelsThatExist(s *site.Site, catalog *apps.Catalog, chosen []string, hosts []site.Host, mgr site.Host) *site.Site {
	present := map[string]bool{}
	for _, h := range hosts {
		if h.Role == site.RoleManager || h.Role == site.RoleWorker {
			present[h.Labels[site.NodeLabel]] = true
		}
	}
	fallback := mgr.Labels[site.NodeLabel]
	if fallback == "" {
		return s
	}
	var moved map[string]site.Component
	for _, name := range chosen {
		label := catalog.Placement(name, s.Components)
		if label == "" || present[label] {
			continue
		}
		if moved == nil {
			moved = maps.Clone(s.Components)
			if moved == nil {
				moved = map[string]site.Component{}
			}
		}
		c := moved[name]
		c.Placement = fallback
		moved[name] = c
	}
	if moved == nil {
		return s
	}
	cp := *s
	cp.Components = moved
	return &cp
}

// addSwarm adds the swarm, its shared services and the components' stacks.
// In the lab, images that cannot be pulled are built as stand-ins first.
func addSwarm(p *engine.Plan, s *site.Site, hosts []site.Host) error {
	sw, err := swarm.Steps(hosts)
	if err != nil {
		return err
	}
	if err := p.Add(sw...); err != nil {
		return err
	}
	_, withKopnik := s.Components[kopnik.Component]
	catalog, err := apps.Default()
	if err != nil {
		return fmt.Errorf("read the app catalog: %w", err)
	}
	chosen, err := catalog.Selected(s)
	if err != nil {
		return err
	}
	if err := checkVMBudget(s, catalog, chosen); err != nil {
		return err
	}
	if withKopnik && slices.Contains(chosen, apps.EdgeName) {
		edge, _ := catalog.Get(apps.EdgeName)
		o, err := edge.ParseOptions(s.Components[apps.EdgeName].Options)
		if err != nil {
			return err
		}
		if o["http_port"] == 80 || o["https_port"] == 443 {
			return engine.WithHint(fmt.Errorf("the kopnik preset's nginx and the edge of the other apps both want ports 80 and 443 on the manager"),
				"give the edge other ports: components: {edge: {options: {http_port: 8080, https_port: 8443}}}")
		}
	}
	var deployAfter []string
	if s.Topology == site.TopologyLab {
		shared, err := swarm.SharedImages()
		if err != nil {
			return err
		}
		var refs []string
		for _, r := range shared {
			refs = append(refs, r)
		}
		if withKopnik {
			kr, err := kopnik.ImageRefs(s)
			if err != nil {
				return err
			}
			refs = append(refs, kr...)
		}
		ar, err := catalog.ImageRefs(s)
		if err != nil {
			return err
		}
		refs = append(refs, ar...)
		var after []string
		for _, h := range hosts {
			after = append(after, prepare.ID("docker", h.Name))
		}
		if err := p.Add(standins.LabStep(lab.OptionsFor(s, s.StateDir), refs, after)); err != nil {
			return err
		}
		deployAfter = append(deployAfter, standins.StepID)
	}
	mgr, _, err := swarm.Members(hosts)
	if err != nil {
		return err
	}
	shared, err := swarm.SharedSteps(s.Name, pki.ScopeOf(s), hosts, deployAfter...)
	if err != nil {
		return err
	}
	if err := p.Add(shared...); err != nil {
		return err
	}
	as, err := catalog.Steps(onLabelsThatExist(s, catalog, chosen, hosts, mgr), mgr.Name, deployAfter...)
	if err != nil {
		return err
	}
	if err := p.Add(as...); err != nil {
		return err
	}
	// The directory's tree and read-only accounts, once it runs.
	ids, err := identity.Steps(s, catalog, mgr.Name)
	if err != nil {
		return err
	}
	if err := p.Add(ids...); err != nil {
		return err
	}
	if withKopnik {
		ks, err := kopnik.Steps(s, hosts, deployAfter...)
		if err != nil {
			return err
		}
		if err := p.Add(ks...); err != nil {
			return err
		}
	}
	return nil
}

// checkVMBudget refuses a plan whose apps do not fit the swarm VMs that
// carry their placement label: over-committed memory makes a swarm kill
// tasks at random, so it is said before anything is made.
func checkVMBudget(s *site.Site, catalog *apps.Catalog, chosen []string) error {
	if s.Proxmox == nil || len(chosen) == 0 {
		return nil
	}
	need, err := catalog.BudgetByPlacement(chosen, apps.InputFor(s, chosen, func(string) (string, error) { return "", nil }))
	if err != nil {
		return err
	}
	for _, label := range slices.Sorted(maps.Keys(need)) {
		hw := apps.Hardware{}
		var names []string
		for _, vm := range s.Proxmox.VMs {
			if vm.Labels[site.NodeLabel] == label {
				hw.RAMMB += vm.MemoryMB
				hw.DiskGB += vm.DiskGB
				hw.Cores += float64(vm.Cores)
				names = append(names, vm.Name)
			}
		}
		if len(names) == 0 {
			return engine.WithHint(fmt.Errorf("apps are placed on %s=%s, but no VM has that label", site.NodeLabel, label),
				"give a VM under proxmox.vms the label %s: %s, or change the apps' placement", site.NodeLabel, label)
		}
		hw.Name = "the VMs labelled " + label + " (" + strings.Join(names, ", ") + ")"
		if err := need[label].Check(hw); err != nil {
			return engine.WithHint(err, "raise memory_mb, disk_gb or cores of %s under proxmox.vms, or leave some components out (`collabstack apps` lists what each needs)", strings.Join(names, ", "))
		}
	}
	return nil
}
