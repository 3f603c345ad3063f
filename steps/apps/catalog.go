// Package apps is the app catalog: one folder per app under
// templates/apps/ with its metadata (app.yaml), a stack template and, for
// web apps, an nginx vhost template. It loads and checks the metadata,
// resolves dependencies, budgets RAM, disk and cores, renders stacks and
// vhosts for a site, and returns the steps that deploy the chosen apps
// behind the edge proxy. Adding an app touches no Go code.
package apps

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/templates"
)

// Kinds of catalog entries.
const (
	KindApp     = "app"     // something people use
	KindService = "service" // a shared service other apps need (databases, mail relay, directory)
	KindEdge    = "edge"    // the edge proxy in front of every web app
)

// EdgeName is the catalog name of the edge proxy; Resolve adds it when a
// web app is chosen.
const EdgeName = "edge"

// Categories an app may have, in the order docs list them.
var Categories = []string{"infra", "identity", "mail", "office", "graphics", "workspace", "learning", "chat", "conference", "search", "survey", "cms", "devtools", "fediverse", "media", "storage"}

// SSO kinds.
var SSOKinds = []string{"ldap", "oidc", "saml", "none"}

// App is one catalog entry, read from templates/apps/<name>/app.yaml.
type App struct {
	Name        string  `yaml:"name"`
	Title       string  `yaml:"title"`
	Description string  `yaml:"description"`
	Category    string  `yaml:"category"`
	Kind        string  `yaml:"kind"`
	Upstream    string  `yaml:"upstream"`
	License     License `yaml:"license"`
	// Seeds says which seeds ask for the app ("000", "001"...).
	Seeds []string `yaml:"seeds"`
	// Optional marks what seed 000 lists as optional.
	Optional bool `yaml:"optional,omitempty"`
	// Images maps the stack's services to pinned images.
	Images    map[string]string `yaml:"images"`
	Resources Resources         `yaml:"resources"`
	// Requires lists other catalog apps this one needs (databases, redis...).
	Requires []string  `yaml:"requires,omitempty"`
	Database *Database `yaml:"database,omitempty"`
	Redis    *Redis    `yaml:"redis,omitempty"`
	// Web apps get a subdomain and a vhost on the edge.
	Web       bool   `yaml:"web"`
	Subdomain string `yaml:"subdomain,omitempty"`
	// Home marks the app the bare domain redirects to.
	Home bool `yaml:"home,omitempty"`
	// Service and Port are the main service and the port it listens on:
	// the edge proxies to them, other apps reach the service there.
	Service string `yaml:"service"`
	Port    int    `yaml:"port,omitempty"`
	// UpstreamScheme is https when the service itself only speaks TLS.
	UpstreamScheme string `yaml:"upstream_scheme,omitempty"`
	// Ports are what the app answers on besides HTTP (git over SSH, RTMP,
	// TURN, media, mail, RADIUS): each reaches the app where the site's
	// names point, through the edge's stream proxy or published on the
	// edge's node.
	Ports []Port `yaml:"ports,omitempty"`
	// Placement is the default node label value: infra or common.
	Placement string `yaml:"placement"`
	// Colocate names the app whose node this one runs on (the required
	// app whose named volume it shares: OpenMeetings and Kurento).
	Colocate   string            `yaml:"colocate,omitempty"`
	SSO        []string          `yaml:"sso"`
	Strengths  []string          `yaml:"strengths"`
	Weaknesses []string          `yaml:"weaknesses"`
	Options    map[string]Option `yaml:"options,omitempty"`
	// Secrets are generated into the secrets file as <app>-<name> and
	// created as swarm secrets <app>_<name> before the stack deploys.
	Secrets []string `yaml:"secrets,omitempty"`
	// Rotate lists the secrets whose changed value reaches the app
	// (read at every start, or set again by a hook): a change in the
	// secrets file becomes a new version of the swarm secret and a
	// redeploy. The others the app keeps in its own data from its first
	// start: a changed value stops the apply with the reason.
	Rotate []string `yaml:"rotate,omitempty"`
	// Files are extra templates rendered beside stack.yaml (configs).
	Files []string `yaml:"files,omitempty"`
	// Hooks run in a service's container after the deploy.
	Hooks []Hook `yaml:"hooks,omitempty"`
	// Provides is set on database engines.
	Provides *Provides `yaml:"provides,omitempty"`
	// Admin says where the admin account comes from.
	Admin string `yaml:"admin,omitempty"`
	// Accounts says how people log in to an app that speaks neither OIDC
	// nor LDAP (sso: [none]): its own accounts, none at all, or another
	// app's.
	Accounts string `yaml:"accounts,omitempty"`
	Notes    string `yaml:"notes,omitempty"`
	// Probe is how a user sees the app working (probe.go).
	Probe *AppProbe `yaml:"probe"`
}

// License of an app.
type License struct {
	SPDX     string `yaml:"spdx"`
	OpenCore bool   `yaml:"open_core"`
	Note     string `yaml:"note,omitempty"`
}

// Resources are estimates for budgeting: what the app typically uses.
type Resources struct {
	RAMMB  int     `yaml:"ram_mb"`
	CPU    float64 `yaml:"cpu"`
	DiskGB int     `yaml:"disk_gb"`
}

// Database asks for a database and user on a shared engine.
type Database struct {
	Engine string `yaml:"engine"` // a catalog app with provides (postgres, mariadb)
	Name   string `yaml:"name,omitempty"`
	User   string `yaml:"user,omitempty"`
	// CollateC creates the database with C collation (Synapse needs it).
	CollateC bool `yaml:"collate_c,omitempty"`
}

// Redis asks for a database index on the shared Redis.
type Redis struct {
	DB int `yaml:"db"`
}

// Port is a port clients reach the app on besides HTTP.
type Port struct {
	Port     int    `yaml:"port"`
	Protocol string `yaml:"protocol"`
	Use      string `yaml:"use"`
	// Range ends a range of ports starting at Port (a UDP relay range).
	Range int `yaml:"range,omitempty"`
	// Public ports are forwarded by the outer router and open to
	// everyone; the others to the LAN, the VPN and the admin networks.
	Public bool `yaml:"public"`
	// Via says how the port reaches the app: ViaEdge (the edge's nginx
	// stream proxy forwards it to Service:Target on the overlay) or
	// ViaNode (Service publishes it in host mode, and the app is pinned
	// to the edge's node, where the site's names point: for UDP media and
	// where the app must see the client's address).
	Via string `yaml:"via"`
	// Service listens on the port (default: the app's main service).
	Service string `yaml:"service,omitempty"`
	// Target is the port in the container (default: Port).
	Target int `yaml:"target,omitempty"`
}

// How a port reaches its app (Port.Via).
const (
	ViaEdge = "edge"
	ViaNode = "node"
)

// ServiceOf is the service that listens on the port.
func (p Port) ServiceOf(a *App) string {
	if p.Service != "" {
		return p.Service
	}
	return a.Service
}

// TargetPort is the port in the container.
func (p Port) TargetPort() int {
	if p.Target != 0 {
		return p.Target
	}
	return p.Port
}

// End is the last port of the range (Port when it is one port).
func (p Port) End() int {
	if p.Range != 0 {
		return p.Range
	}
	return p.Port
}

// OnEdgeNode says whether the app publishes a port in host mode on the
// edge's node (ViaNode), so it must run there.
func (a *App) OnEdgeNode() bool {
	if a.Kind == KindEdge {
		return false
	}
	for _, p := range a.Ports {
		if p.Via == ViaNode {
			return true
		}
	}
	return false
}

// Option is one components.<app>.options entry.
type Option struct {
	Type        string `yaml:"type"` // string, int, bool, list
	Default     any    `yaml:"default"`
	Description string `yaml:"description"`
	// Kind says what a string option holds, each with its strict pattern
	// (site.Check*): text (the default), ipv4, size, hostport.
	Kind string `yaml:"kind,omitempty"`
	// Min and Max bound an int option; both are required for ints.
	Min *int `yaml:"min,omitempty"`
	Max *int `yaml:"max,omitempty"`
}

// Hook runs a script in a running container of the app after its deploy.
type Hook struct {
	Name    string `yaml:"name"`
	Title   string `yaml:"title"`
	Service string `yaml:"service"`
	// Script and Check are templates of shell scripts fed on stdin to
	// `sh -s` in the container; Check exits 0 when the work is done.
	Script string `yaml:"script"`
	Check  string `yaml:"check"`
}

// Provides describes a database engine for the database steps.
type Provides struct {
	Engine string `yaml:"engine"`
	// Exec runs in the engine's container with SQL on stdin.
	Exec []string `yaml:"exec"`
	// Ready exits 0 when the engine accepts connections.
	Ready []string `yaml:"ready"`
	// CreateDB and CheckDB are SQL templates; CheckDB prints "present".
	CreateDB string `yaml:"createdb"`
	CheckDB  string `yaml:"checkdb"`
}

// Catalog is every app of the catalog.
type Catalog struct {
	fsys fs.FS
	apps map[string]*App
}

// Default loads the catalog embedded in the binary.
func Default() (*Catalog, error) {
	sub, err := fs.Sub(templates.FS, "apps")
	if err != nil {
		return nil, err
	}
	return Load(sub)
}

var (
	nameRE      = regexp.MustCompile(`^[a-z][a-z0-9]*$`)
	serviceRE   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	subdomainRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	imageRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?(/[a-z0-9._-]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	secretRE    = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	optionRE    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// Load reads every <app>/app.yaml of fsys, strictly: an unknown key, a
// missing field or a reference to an app that does not exist is an error
// naming the file and the field.
func Load(fsys fs.FS) (*Catalog, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read the app catalog: %w", err)
	}
	c := &Catalog{fsys: fsys, apps: map[string]*App{}}
	var errs []error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		a, err := loadApp(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.apps[a.Name] = a
	}
	if len(errs) == 0 {
		errs = append(errs, c.checkReferences()...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

func loadApp(fsys fs.FS, dir string) (*App, error) {
	file := dir + "/app.yaml"
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("app %s: %w", dir, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var a App
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if a.Kind == "" {
		a.Kind = KindApp
	}
	var problems []string
	bad := func(field, format string, args ...any) {
		problems = append(problems, field+": "+fmt.Sprintf(format, args...))
	}
	if a.Name != dir {
		bad("name", "%q must be the folder's name %q", a.Name, dir)
	}
	if !nameRE.MatchString(a.Name) {
		bad("name", "%q: use lower-case letters and digits", a.Name)
	}
	for field, v := range map[string]string{"title": a.Title, "description": a.Description, "license.spdx": a.License.SPDX, "service": a.Service} {
		if strings.TrimSpace(v) == "" {
			bad(field, "missing")
		}
	}
	if u, err := url.Parse(a.Upstream); err != nil || u.Scheme != "https" || u.Host == "" {
		bad("upstream", "%q is not an https URL", a.Upstream)
	}
	if !contains(Categories, a.Category) {
		bad("category", "%q is not one of %s", a.Category, strings.Join(Categories, ", "))
	}
	if a.Kind != KindApp && a.Kind != KindService && a.Kind != KindEdge {
		bad("kind", "%q is not app, service or edge", a.Kind)
	}
	if len(a.Seeds) == 0 {
		bad("seeds", "say which seed asks for the app (000, 001, 003, 004)")
	}
	if len(a.Images) == 0 {
		bad("images", "missing")
	}
	for svc, img := range a.Images {
		if !serviceRE.MatchString(svc) {
			bad("images."+svc, "%q is not a service name", svc)
		}
		if err := CheckImage(img); err != nil {
			bad("images."+svc, "%v", err)
		}
	}
	if _, ok := a.Images[a.Service]; !ok && a.Service != "" {
		bad("service", "%q has no image in images", a.Service)
	}
	if a.Resources.RAMMB < 16 || a.Resources.CPU <= 0 || a.Resources.DiskGB < 0 {
		bad("resources", "give ram_mb (≥ 16), cpu (> 0) and disk_gb (≥ 0)")
	}
	if a.Placement != site.LabelInfra && a.Placement != site.LabelCommon {
		bad("placement", "%q: use %s or %s", a.Placement, site.LabelInfra, site.LabelCommon)
	}
	if len(a.SSO) == 0 {
		bad("sso", "list ldap, oidc, saml, or none")
	}
	for _, s := range a.SSO {
		if !contains(SSOKinds, s) {
			bad("sso", "%q is not one of %s", s, strings.Join(SSOKinds, ", "))
		}
	}
	if a.Kind == KindApp && len(a.SSO) == 1 && a.SSO[0] == "none" && strings.TrimSpace(a.Accounts) == "" {
		bad("accounts", "sso is none: say how people log in (the app's own accounts, none at all, or another app's)")
	}
	if a.Kind == KindApp && (len(a.Strengths) == 0 || len(a.Weaknesses) == 0) {
		bad("strengths/weaknesses", "give at least one of each")
	}
	if a.Web {
		if !subdomainRE.MatchString(a.Subdomain) {
			bad("subdomain", "%q is not a DNS label", a.Subdomain)
		}
		if a.Port < 1 || a.Port > 65535 {
			bad("port", "a web app needs the port its service listens on")
		}
		if _, err := fs.Stat(fsys, dir+"/nginx.conf.tmpl"); err != nil {
			bad("web", "a web app needs nginx.conf.tmpl beside app.yaml")
		}
	} else if a.Subdomain != "" {
		bad("subdomain", "only web apps have one")
	}
	for i, p := range a.Ports {
		if p.Port < 1 || p.Port > 65535 || (p.Protocol != "tcp" && p.Protocol != "udp") || p.Use == "" {
			bad(fmt.Sprintf("ports[%d]", i), "give port, protocol (tcp or udp) and use")
		}
		if p.Range != 0 && (p.Range <= p.Port || p.Range > 65535 || p.Range-p.Port > 200) {
			bad(fmt.Sprintf("ports[%d].range", i), "a range ends above its start and spans at most 200 ports (seed pitfall: large UDP ranges stall Docker)")
		}
		switch p.Via {
		case ViaNode:
			if p.Target != 0 && p.Target != p.Port {
				bad(fmt.Sprintf("ports[%d].target", i), "a port published on the node keeps its number (ViaNode)")
			}
		case ViaEdge:
			if p.Range != 0 || p.Protocol != "tcp" {
				bad(fmt.Sprintf("ports[%d].via", i), "the edge's stream proxy forwards single TCP ports; publish UDP and ranges on the node (via: node)")
			}
			if a.Kind == KindEdge {
				bad(fmt.Sprintf("ports[%d].via", i), "the edge's own ports are published on its node (via: node)")
			} else if !a.Web {
				bad(fmt.Sprintf("ports[%d].via", i), "only a web app brings the edge along: publish the port on the node (via: node)")
			}
		default:
			bad(fmt.Sprintf("ports[%d].via", i), "%q: use %s (the edge's stream proxy) or %s (published on the edge's node)", p.Via, ViaEdge, ViaNode)
		}
		if p.Target < 0 || p.Target > 65535 {
			bad(fmt.Sprintf("ports[%d].target", i), "%d is not a port", p.Target)
		}
		if _, ok := a.Images[p.ServiceOf(&a)]; !ok {
			bad(fmt.Sprintf("ports[%d].service", i), "%q is not a service of the app", p.ServiceOf(&a))
		}
	}
	for _, s := range a.Secrets {
		if !secretRE.MatchString(s) {
			bad("secrets", "%q: use lower-case letters, digits and -", s)
		}
	}
	for _, s := range a.Rotate {
		// db-password may be named without being in secrets: an app with a
		// database gets it in a rendered file then, and rotate says the
		// app reads that file at every start (the database step then sets
		// a changed password on its user; otherwise it refuses the change).
		if !contains(a.Secrets, s) && (s != "db-password" || a.Database == nil) {
			bad("rotate", "%q is not in secrets", s)
		}
	}
	for name, o := range a.Options {
		if !optionRE.MatchString(name) {
			bad("options."+name, "use lower-case letters, digits and _")
		}
		if o.Description == "" {
			bad("options."+name+".description", "missing")
		}
		if _, err := o.convert(o.Default); err != nil {
			bad("options."+name+".default", "%v", err)
		}
		if o.Type == OptInt && (o.Min == nil || o.Max == nil || *o.Min > *o.Max) {
			bad("options."+name, "an int option needs min and max (min <= max)")
		}
		if o.Type == OptString && !contains(optionKinds, o.Kind) {
			bad("options."+name+".kind", "use one of %v", optionKinds)
		}
	}
	if d := a.Database; d != nil {
		if d.Name == "" {
			d.Name = a.Name
		}
		if d.User == "" {
			d.User = a.Name
		}
		if !nameRE.MatchString(d.Name) || !nameRE.MatchString(d.User) {
			bad("database", "name and user: lower-case letters and digits")
		}
		if !contains(a.Requires, d.Engine) {
			bad("database.engine", "%q must also be in requires", d.Engine)
		}
	}
	if a.Redis != nil {
		if !contains(a.Requires, "redis") {
			bad("redis", "add redis to requires")
		}
		if a.Redis.DB < 1 || a.Redis.DB > 15 {
			bad("redis.db", "use an index from 1 to 15 (0 is left unused)")
		}
	}
	if p := a.Provides; p != nil {
		if p.Engine == "" || len(p.Exec) == 0 || len(p.Ready) == 0 || p.CreateDB == "" || p.CheckDB == "" {
			bad("provides", "give engine, exec, ready, createdb and checkdb")
		}
		for _, f := range []string{p.CreateDB, p.CheckDB} {
			if _, err := fs.Stat(fsys, path.Join(dir, f)); f != "" && err != nil {
				bad("provides", "%s does not exist", f)
			}
		}
	}
	for i, h := range a.Hooks {
		if !secretRE.MatchString(h.Name) || h.Title == "" || h.Script == "" || h.Check == "" {
			bad(fmt.Sprintf("hooks[%d]", i), "give name, title, service, script and check")
		}
		if _, ok := a.Images[h.Service]; !ok {
			bad(fmt.Sprintf("hooks[%d].service", i), "%q is not a service of the app", h.Service)
		}
		for _, f := range []string{h.Script, h.Check} {
			if _, err := fs.Stat(fsys, path.Join(dir, f)); f != "" && err != nil {
				bad(fmt.Sprintf("hooks[%d]", i), "%s does not exist", f)
			}
		}
	}
	for _, f := range a.Files {
		if !strings.HasSuffix(f, ".tmpl") {
			bad("files", "%s: templates end in .tmpl", f)
		} else if _, err := fs.Stat(fsys, path.Join(dir, f)); err != nil {
			bad("files", "%s does not exist", f)
		}
	}
	if a.UpstreamScheme != "" && a.UpstreamScheme != "http" && a.UpstreamScheme != "https" {
		bad("upstream_scheme", "%q: use http or https", a.UpstreamScheme)
	}
	if _, err := fs.Stat(fsys, dir+"/stack.yaml.tmpl"); err != nil {
		bad("stack.yaml.tmpl", "missing beside app.yaml")
	}
	checkProbe(&a, bad)
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s:\n  %s", file, strings.Join(problems, "\n  "))
	}
	return &a, nil
}

// CheckImage refuses an image without a tag, or with latest or another
// floating tag.
func CheckImage(img string) error {
	if strings.Contains(img, "@sha256:") {
		return nil
	}
	if !imageRE.MatchString(img) {
		return fmt.Errorf("%q is not pinned to a tag (repository:tag)", img)
	}
	tag := img[strings.LastIndex(img, ":")+1:]
	switch tag {
	case "latest", "stable", "mainline", "production", "lts", "edge", "nightly", "master", "main":
		return fmt.Errorf("%q: the tag %q floats; pin a version", img, tag)
	}
	if majorOnlyRE.MatchString(tag) {
		return fmt.Errorf("%q: the tag %q names only a major version, which moves with every release; pin the full version", img, tag)
	}
	return nil
}

// majorOnlyRE matches tags such as 6, v7 or 6-apache: a major version
// alone, with at most a variant.
var majorOnlyRE = regexp.MustCompile(`^v?[0-9]+(-[a-z][a-z0-9]*)*$`)

func (c *Catalog) checkReferences() []error {
	var errs []error
	subs := map[string]string{}
	redisDB := map[int]string{}
	homes := 0
	for _, name := range c.Names() {
		a := c.apps[name]
		for _, r := range a.Requires {
			if r == a.Name {
				errs = append(errs, fmt.Errorf("%s/app.yaml: requires: an app cannot require itself", name))
			} else if _, ok := c.apps[r]; !ok {
				errs = append(errs, fmt.Errorf("%s/app.yaml: requires: %q is not in the catalog", name, r))
			}
		}
		if d := a.Database; d != nil {
			if e, ok := c.apps[d.Engine]; !ok || e.Provides == nil {
				errs = append(errs, fmt.Errorf("%s/app.yaml: database.engine: %q is not a database engine of the catalog", name, d.Engine))
			}
		}
		if a.Web {
			if other, ok := subs[a.Subdomain]; ok {
				errs = append(errs, fmt.Errorf("%s/app.yaml: subdomain %q is %s's already", name, a.Subdomain, other))
			}
			subs[a.Subdomain] = name
		}
		if a.Redis != nil {
			if other, ok := redisDB[a.Redis.DB]; ok {
				errs = append(errs, fmt.Errorf("%s/app.yaml: redis.db %d is %s's already", name, a.Redis.DB, other))
			}
			redisDB[a.Redis.DB] = name
		}
		if a.Home {
			homes++
		}
		if a.Colocate != "" {
			o, ok := c.apps[a.Colocate]
			switch {
			case !ok || !contains(a.Requires, a.Colocate):
				errs = append(errs, fmt.Errorf("%s/app.yaml: colocate: %q must be an app in requires (it is deployed, and pinned, first)", name, a.Colocate))
			case o.Colocate != "":
				errs = append(errs, fmt.Errorf("%s/app.yaml: colocate: %q runs on %s's node itself: name %s", name, a.Colocate, o.Colocate, o.Colocate))
			case o.Placement != a.Placement:
				errs = append(errs, fmt.Errorf("%s/app.yaml: colocate: %q is placed on %s, this app on %s", name, a.Colocate, o.Placement, a.Placement))
			}
		}
	}
	ports := map[string]string{}
	for _, name := range c.Names() {
		for _, p := range c.apps[name].Ports {
			for n := p.Port; n <= p.End(); n++ {
				key := fmt.Sprintf("%d/%s", n, p.Protocol)
				if other, ok := ports[key]; ok && other != name {
					errs = append(errs, fmt.Errorf("%s/app.yaml: ports: %s is %s's already (every port reaches one app where the site's names point)", name, key, other))
					break
				}
				ports[key] = name
			}
		}
	}
	if homes > 1 {
		errs = append(errs, fmt.Errorf("more than one app has home: true"))
	}
	if _, err := c.resolve(c.Names()); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// Has reports whether the catalog has an app of that name (site.Catalog).
func (c *Catalog) Has(name string) bool { _, ok := c.apps[name]; return ok }

// Names lists every app, sorted (site.Catalog).
func (c *Catalog) Names() []string {
	names := make([]string, 0, len(c.apps))
	for n := range c.apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Get returns an app's metadata.
func (c *Catalog) Get(name string) (*App, bool) {
	a, ok := c.apps[name]
	return a, ok
}

// Apps returns every app sorted by category order, then name.
func (c *Catalog) Apps() []*App {
	out := make([]*App, 0, len(c.apps))
	for _, n := range c.Names() {
		out = append(out, c.apps[n])
	}
	cat := func(a *App) int {
		for i, x := range Categories {
			if x == a.Category {
				return i
			}
		}
		return len(Categories)
	}
	sort.SliceStable(out, func(i, j int) bool { return cat(out[i]) < cat(out[j]) })
	return out
}

// Resolve returns the selected apps with everything they require, each
// after its requirements, and the edge when any web app is among them.
// Unknown names are an error with a did-you-mean.
func (c *Catalog) Resolve(selected []string) ([]string, error) {
	return c.resolve(selected)
}

func (c *Catalog) resolve(selected []string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		a, ok := c.apps[name]
		if !ok {
			hint := ""
			if s := site.Suggest(name, c.Names()); s != "" {
				hint = ": did you mean " + s + "?"
			}
			if len(chain) > 0 {
				return fmt.Errorf("%s requires %q, which is not in the catalog%s", chain[len(chain)-1], name, hint)
			}
			return fmt.Errorf("%q is not in the app catalog%s (list them with `collabstack apps`)", name, hint)
		}
		switch state[name] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("the apps require each other in a circle: %s → %s", strings.Join(chain, " → "), name)
		}
		state[name] = 1
		reqs := append([]string(nil), a.Requires...)
		sort.Strings(reqs)
		for _, r := range reqs {
			if err := visit(r, append(chain, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	sel := append([]string(nil), selected...)
	sort.Strings(sel)
	web := false
	for _, n := range sel {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	for _, n := range order {
		if c.apps[n].Web {
			web = true
		}
	}
	if web && state[EdgeName] == 0 {
		if err := visit(EdgeName, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Selected returns the catalog apps named in the site's components (other
// components, such as a preset, are left out), resolved.
func (c *Catalog) Selected(s *site.Site) ([]string, error) {
	var names []string
	for n := range s.Components {
		if c.Has(n) {
			names = append(names, n)
		}
	}
	return c.Resolve(names)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
