package install

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/collabstack/collabstack/steps/facts"
	"github.com/collabstack/collabstack/steps/journal"
)

// HostStatus is what status found of one host.
type HostStatus struct {
	Name    string
	Address string
	Role    string
	Err     error // nil when reachable
	Facts   facts.Facts
}

// Status is the state of a site: its hosts now, and its last run.
type Status struct {
	Hosts []HostStatus
	// LastRun is the newest run of the journal, nil before the first.
	LastRun *journal.Run
	// Deployed lists components whose steps all last succeeded.
	Deployed []string
	// Failed lists components with a step that last failed.
	Failed []string
	// Components are what the swarm says of each component now and what
	// its probes found; HealthErr says why they could not be read.
	Components []ComponentHealth
	HealthErr  error
}

// Healthy reports whether every host answered and every deployed
// component is converged and passes its probes.
func (st Status) Healthy() bool {
	if st.HealthErr != nil || len(st.Failed) > 0 {
		return false
	}
	for _, h := range st.Hosts {
		if h.Err != nil {
			return false
		}
	}
	for _, c := range st.Components {
		if !c.Healthy {
			return false
		}
	}
	return true
}

// ProbeTimeout bounds reading the components and running their probes
// in Status.
const ProbeTimeout = 2 * time.Minute

// Status reads the journal, tries every host (timeout each) and, when the
// site has been applied, reads every component's services and runs its
// probes on the manager (within probeTimeout, else ProbeTimeout),
// changing nothing.
func (s *Session) Status(ctx context.Context, timeout time.Duration, probeTimeout ...time.Duration) (Status, error) {
	pt := ProbeTimeout
	if len(probeTimeout) > 0 && probeTimeout[0] > 0 {
		pt = probeTimeout[0]
	}
	var st Status
	recs, err := journal.Read(s.JournalPath())
	if err != nil {
		return st, err
	}
	st.LastRun = journal.Last(recs)
	st.Deployed, st.Failed = ComponentStates(recs)

	hosts := s.Site.Hosts
	if lh, err := s.SiteHosts(ctx); err == nil {
		hosts = lh // a lab's nodes
	}
	st.Hosts = make([]HostStatus, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		st.Hosts[i] = HostStatus{Name: h.Name, Address: h.Address, Role: h.Role}
		wg.Add(1)
		go func(hs *HostStatus) {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			conn, err := s.Hosts.Get(cctx, hs.Name)
			if err != nil {
				hs.Err = s.Redactor.Error(err)
				return
			}
			hs.Facts, hs.Err = facts.Gather(cctx, conn)
		}(&st.Hosts[i])
	}
	wg.Wait()
	if st.LastRun != nil {
		hctx, cancel := context.WithTimeout(ctx, pt)
		st.Components, st.HealthErr = s.Health(hctx)
		cancel()
	}
	return st, nil
}

// ComponentStates reads from journal records which components are
// deployed (every step last succeeded) and which failed (a step last
// failed).
func ComponentStates(recs []journal.Record) (deployed, failed []string) {
	latest := map[string]journal.Record{}
	for _, r := range recs {
		if r.Kind == journal.KindStep && r.Component != "" {
			latest[r.Step] = r
		}
	}
	ok := map[string]bool{}
	for _, r := range latest {
		good := r.Status == journal.StatusDone || r.Status == journal.StatusChanged
		if prev, seen := ok[r.Component]; !seen || prev {
			ok[r.Component] = good
		}
	}
	for c, good := range ok {
		if good {
			deployed = append(deployed, c)
		} else {
			failed = append(failed, c)
		}
	}
	sort.Strings(deployed)
	sort.Strings(failed)
	return deployed, failed
}
