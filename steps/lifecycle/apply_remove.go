package lifecycle

import (
	"context"
	"fmt"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// RemoveOptions tune Remove.
type RemoveOptions struct {
	// Purge also drops the component's database and removes its volumes
	// on every swarm node. The caller has asked the user first.
	Purge bool
	// Out receives what happens, line by line (already redacted).
	Out func(string)
}

// Remove takes the component of r off the site: the site file first (so
// a remove stopped half-way is finished by running it again, and an apply
// never brings it back), then its stack and the stacks of its orphans on
// the swarm; with Purge its database and volumes. The caller then runs
// the plan of the rewritten site, which renders the edge without the
// component's vhost, the split DNS without its name and the firewall
// without its ports.
func Remove(ctx context.Context, sess *install.Session, c *apps.Catalog, r *Removal, o RemoveOptions) error {
	out := func(format string, args ...any) {
		if o.Out != nil {
			o.Out(sess.Redactor.Redact(fmt.Sprintf(format, args...)))
		}
	}
	line := func(prefix string) func(string) {
		return func(l string) { out("  %s | %s", prefix, l) }
	}
	if r.InSite {
		if err := RewriteSite(sess.Path, r.Component); err != nil {
			return err
		}
		out("%s no longer lists %s (the file as it was: %s.before-remove)", sess.Path, r.Component, sess.Path)
	}
	mgr, _, err := sess.Manager(ctx)
	if err != nil {
		return err
	}
	out("Removing the stack %s (its volumes stay unless --purge)", r.Component)
	if err := RemoveStack(ctx, mgr, r.Component, line(mgr.Name())); err != nil {
		return sess.Redactor.Error(err)
	}
	if o.Purge && r.Database != nil {
		eng, _ := c.Get(r.Database.Engine)
		svc := apps.ServiceName(eng.Name, eng.Service)
		node, err := EngineNode(ctx, mgr, svc)
		if err != nil || node == "" {
			out("The database %s on %s is not dropped: %s does not run (it is dropped when you run remove --purge again while it runs)", r.Database.Name, eng.Title, svc)
		} else {
			h, err := sess.Hosts.Get(ctx, node)
			if err != nil {
				return err
			}
			out("Dropping the database %s and its user on %s", r.Database.Name, eng.Title)
			if err := DropDatabase(ctx, h, c, r.Component, line(node)); err != nil {
				return sess.Redactor.Error(fmt.Errorf("drop the database %s on %s: %w", r.Database.Name, eng.Title, err))
			}
		}
	}
	for _, orphan := range r.Orphans {
		out("Removing the stack %s: nothing left on the site needs it (its volumes stay)", orphan)
		if err := RemoveStack(ctx, mgr, orphan, line(mgr.Name())); err != nil {
			return sess.Redactor.Error(err)
		}
	}
	if o.Purge {
		hosts, err := sess.SiteHosts(ctx)
		if err != nil {
			return err
		}
		for _, h := range hosts {
			if h.Role != site.RoleManager && h.Role != site.RoleWorker && h.Role != site.RoleStandby {
				continue
			}
			node, err := sess.Hosts.Get(ctx, h.Name)
			if err != nil {
				return fmt.Errorf("%s: %w; its volumes of %s stay: run remove --purge again once it answers", h.Name, err, r.Component)
			}
			if err := PurgeVolumes(ctx, node, r.Component, line(h.Name)); err != nil {
				return sess.Redactor.Error(err)
			}
		}
		// Its data is gone: the node it was pinned to is free again.
		nodes, err := swarm.Unpin(ctx, mgr, r.Component)
		if err != nil {
			return sess.Redactor.Error(err)
		}
		for _, n := range nodes {
			out("%s is no longer pinned to node %s (label %s)", r.Component, n, swarm.PinLabel(r.Component))
		}
	}
	return nil
}
