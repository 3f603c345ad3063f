// Package lifecycle is the site's life after install: removing a
// component (its stack, and with it the edge's vhost, the DNS names and
// the firewall openings, which every concern derives from the site file),
// the support bundle and the runbook.
package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/atomicfile"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/standby"
	"github.com/collabstack/collabstack/templates"
)

// Removal is what `collabstack remove COMPONENT` does, worked out from the
// site file and the catalog before anything changes.
type Removal struct {
	// Component is the one the user names.
	Component string
	// InSite is false when the site file no longer names it (an earlier
	// remove stopped after rewriting it): only its stack is left to go.
	InSite bool
	// Orphans are apps only the component required (and the edge when no
	// web app is left): nothing chose them, so their stacks go too, and
	// their volumes stay.
	Orphans []string
	// Database is the component's database on a shared engine, dropped by
	// --purge; nil when it has none.
	Database *apps.Database
	// EngineRemoved is set when that engine is an orphan too.
	EngineRemoved bool
}

// Stacks are the swarm stacks the removal takes down, the component's first.
func (r *Removal) Stacks() []string { return append([]string{r.Component}, r.Orphans...) }

// RefusedError says which chosen components need the one to remove.
type RefusedError struct {
	Component string
	NeededBy  []string
}

func (e *RefusedError) Error() string {
	verb := "requires"
	if len(e.NeededBy) > 1 {
		verb = "require"
	}
	return fmt.Sprintf("%s %s %s: remove %s first, or keep %s", strings.Join(e.NeededBy, ", "), verb, e.Component, strings.Join(e.NeededBy, " and "), e.Component)
}

// ErrNotAComponent is returned when the site does not name the component
// and no stack of that name needs removing.
var ErrNotAComponent = errors.New("not a component of the site")

// PlanRemove works out the removal of comp from s: refused (RefusedError)
// when another chosen component requires it.
func PlanRemove(s *site.Site, c *apps.Catalog, comp string) (*Removal, error) {
	r := &Removal{Component: comp}
	_, r.InSite = s.Components[comp]
	before, err := c.Selected(s)
	if err != nil {
		return nil, err
	}
	after := &site.Site{Components: map[string]site.Component{}}
	for n, v := range s.Components {
		if n != comp {
			after.Components[n] = v
		}
	}
	remaining, err := c.Selected(after)
	if err != nil {
		return nil, err
	}
	if slices.Contains(remaining, comp) {
		// Still resolved: something left requires it (a web app the edge).
		return nil, &RefusedError{Component: comp, NeededBy: neededBy(c, remaining, comp)}
	}
	if !r.InSite && !c.Has(comp) && comp != kopnik.Component {
		return nil, fmt.Errorf("%q: %w (collabstack status lists them)", comp, ErrNotAComponent)
	}
	for _, n := range before {
		if n != comp && !slices.Contains(remaining, n) {
			r.Orphans = append(r.Orphans, n)
		}
	}
	if comp == kopnik.Component {
		// Its standby's stack (a hot copy of its database) goes with it.
		r.Orphans = append(r.Orphans, standby.Stack)
	}
	if a, ok := c.Get(comp); ok && a.Database != nil {
		d := *a.Database
		r.Database = &d
		r.EngineRemoved = slices.Contains(r.Orphans, d.Engine)
	}
	return r, nil
}

// neededBy names the remaining apps that require comp directly (the web
// apps, for the edge).
func neededBy(c *apps.Catalog, remaining []string, comp string) []string {
	var out []string
	for _, n := range remaining {
		a, _ := c.Get(n)
		if slices.Contains(a.Requires, comp) || (comp == apps.EdgeName && a.Web) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// RewriteSite removes comp from the components of the site file at path,
// keeping the rest of the file (comments, order) as it is. The file as it
// was is kept beside it as <path>.before-remove.
func RewriteSite(path, comp string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, changed, err := withoutComponent(data, comp)
	if err != nil || !changed {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path+".before-remove", data, 0o600); err != nil {
		return err
	}
	return atomicfile.Write(path, out, st.Mode().Perm())
}

// withoutComponent is the site file data without comp under components.
func withoutComponent(data []byte, comp string) ([]byte, bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, false, fmt.Errorf("read the site file again: %v", err)
	}
	root := doc.Content[0]
	var comps *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "components" {
			comps = root.Content[i+1]
		}
	}
	if comps == nil || comps.Kind != yaml.MappingNode {
		return data, false, nil
	}
	changed := false
	for i := 0; i+1 < len(comps.Content); i += 2 {
		if comps.Content[i].Value == comp {
			comps.Content = append(comps.Content[:i], comps.Content[i+2:]...)
			changed = true
			break
		}
	}
	if !changed {
		return data, false, nil
	}
	if len(comps.Content) == 0 {
		comps.Style = yaml.FlowStyle
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, false, err
	}
	if err := enc.Close(); err != nil {
		return nil, false, err
	}
	if _, err := site.Parse(b.Bytes()); err != nil {
		return nil, false, fmt.Errorf("the site file without %s would not parse (%v); it was left as it was: delete components.%s by hand", comp, err, comp)
	}
	return b.Bytes(), true, nil
}

// StackExists reports whether the swarm whose manager is h runs a stack
// of that name.
func StackExists(ctx context.Context, h host.Host, stack string) (bool, error) {
	out, err := h.Run(ctx, "docker stack ls --format '{{.Name}}'", host.RunOpts{Sudo: true})
	if err != nil {
		return false, err
	}
	for _, l := range strings.Fields(out) {
		if l == stack {
			return true, nil
		}
	}
	return false, nil
}

// RemoveStack takes a stack down on the manager and waits until its
// services and the manager's containers of it are gone. Its volumes stay.
func RemoveStack(ctx context.Context, mgr host.Host, stack string, out func(string)) error {
	text, err := script.RenderFile("lifecycle/stack-rm.sh", map[string]any{"Stack": stack})
	if err != nil {
		return err
	}
	_, err = mgr.Run(ctx, text, host.RunOpts{Sudo: true, Output: out})
	return err
}

// PurgeVolumes removes the stack's volumes on one swarm node, once none
// of its containers is left there, and prints what it removed.
func PurgeVolumes(ctx context.Context, node host.Host, stack string, out func(string)) error {
	text, err := script.RenderFile("lifecycle/purge-volumes.sh", map[string]any{"Stack": stack})
	if err != nil {
		return err
	}
	_, err = node.Run(ctx, text, host.RunOpts{Sudo: true, Output: out})
	return err
}

// DropSQL renders the SQL that drops app's database and its user on its
// engine (postgres or mariadb).
func DropSQL(app string, d apps.Database) ([]byte, error) {
	name := "lifecycle/dropdb-" + d.Engine + ".sql.tmpl"
	if _, err := templates.FS.Open(name); err != nil {
		return nil, fmt.Errorf("no way to drop a database on %s (%s)", d.Engine, name)
	}
	return templates.Render(name, map[string]any{"App": app, "Name": d.Name, "User": d.User}, nil)
}

// DropDatabase drops app's database and user in the engine's running
// container on h (the node the swarm runs the engine's task on).
func DropDatabase(ctx context.Context, h host.Host, c *apps.Catalog, app string, out func(string)) error {
	a, ok := c.Get(app)
	if !ok || a.Database == nil {
		return nil
	}
	eng, ok := c.Get(a.Database.Engine)
	if !ok || eng.Provides == nil {
		return fmt.Errorf("%s: its database engine %s is not in the catalog", app, a.Database.Engine)
	}
	sql, err := DropSQL(app, *a.Database)
	if err != nil {
		return err
	}
	text, err := script.RenderFile("lifecycle/exec-service.sh", map[string]any{"Service": apps.ServiceName(eng.Name, eng.Service), "Args": eng.Provides.Exec})
	if err != nil {
		return err
	}
	_, err = h.Run(ctx, text, host.RunOpts{Sudo: true, Stdin: sql, Output: out})
	return err
}

// EngineNode says on which node the swarm runs a service's task ("" when
// none runs).
func EngineNode(ctx context.Context, mgr host.Host, service string) (string, error) {
	out, err := mgr.Run(ctx, "docker service ps --filter desired-state=running --format '{{.Node}}' "+host.Quote(service)+" 2>/dev/null | head -n1", host.RunOpts{Sudo: true})
	return strings.TrimSpace(out), err
}
