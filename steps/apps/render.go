package apps

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"path"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
	"github.com/collabstack/collabstack/templates"
)

// RenderInput is what rendering needs of a site.
type RenderInput struct {
	Domain     string
	AdminEmail string
	TLSMode    string
	// Secret returns the generated secret of that name (secrets.Store.Password
	// in a run); names are <app>-<secret>.
	Secret func(name string) (string, error)
	// Components are the site's components: options and placement per app.
	Components map[string]site.Component
	// Selected are the resolved apps of the site (Resolve's answer).
	Selected []string
	// Network is the overlay network shared with the edge (default swarm.Network).
	Network string
	// Realm is the site's Keycloak realm (RealmName); "" means the one
	// made from Domain.
	Realm string
}

// InputFor builds the RenderInput of a site.
func InputFor(s *site.Site, selected []string, secret func(name string) (string, error)) RenderInput {
	return RenderInput{Domain: s.Domain, AdminEmail: s.AdminEmail, TLSMode: s.TLS.Mode, Secret: secret, Components: s.Components, Selected: selected, Realm: RealmName(s.Name, s.Domain)}
}

// SSOApp is the catalog's single sign-on provider (Keycloak).
const SSOApp = "keycloak"

var realmRE = regexp.MustCompile(`[^a-z0-9-]+`)

// RealmName is the site's Keycloak realm: its name (or else its domain)
// in lower case, with anything but letters, digits and '-' made '-'.
func RealmName(name, domain string) string {
	n := name
	if n == "" {
		n = domain
	}
	n = strings.Trim(realmRE.ReplaceAllString(strings.ToLower(n), "-"), "-")
	if n == "" || n == "master" {
		n = "site"
	}
	return n
}

// ClientSecretName is the secret (of the Keycloak app, in the secrets
// file keycloak-client-APP) of an app's OIDC client.
func ClientSecretName(app string) string { return "client-" + app }

// oidcData is what an app's templates know of its OIDC client in the
// site's Keycloak realm (.OIDC, nil unless Keycloak is chosen and the
// app speaks OIDC). The identity step registers the client with the
// same ID, secret and redirect URIs (https://<app's name>/*).
type oidcData struct {
	// Provider is the name login pages show on the button.
	Provider string
	// Issuer is the realm's issuer URL; Discovery its
	// .well-known/openid-configuration; the others Keycloak's endpoints.
	Issuer, Discovery, AuthURL, TokenURL, UserinfoURL, LogoutURL, JWKSURL string
	ClientID                                                              string
	// Secret is the client secret's name for secretOf "keycloak".
	Secret string
}

func (c *Catalog) oidc(a *App, in RenderInput) *oidcData {
	if a.Name == SSOApp || !a.Web || !contains(a.SSO, "oidc") || !contains(in.Selected, SSOApp) {
		return nil
	}
	realm := in.Realm
	if realm == "" {
		realm = RealmName("", in.Domain)
	}
	iss := c.URL(SSOApp, in) + "/realms/" + realm
	p := iss + "/protocol/openid-connect"
	return &oidcData{Provider: "Single sign-on", Issuer: iss, Discovery: iss + "/.well-known/openid-configuration",
		AuthURL: p + "/auth", TokenURL: p + "/token", UserinfoURL: p + "/userinfo", LogoutURL: p + "/logout", JWKSURL: p + "/certs",
		ClientID: a.Name, Secret: ClientSecretName(a.Name)}
}

// SecretLength is the length of generated secrets.
const SecretLength = 32

// SecretName is the secrets-file name of an app's secret.
func SecretName(app, name string) string { return app + "-" + name }

// DockerSecretName is the swarm secret holding an app's secret.
func DockerSecretName(app, name string) string {
	return app + "_" + strings.ReplaceAll(name, "-", "_")
}

// ServiceName is the swarm service a stack's service becomes (every stack
// is deployed under its app's name): what docker service and the task
// labels call it.
func ServiceName(app, service string) string { return app + "_" + service }

// Hostname is the name other services reach a stack's service by on the
// shared network: an alias every stack sets, unique across stacks (app
// names have no hyphen) and a valid host name, unlike ServiceName's
// underscore, which some URL parsers (Java's URI) refuse.
func Hostname(app, service string) string { return app + "-" + service }

// Placement returns the node label value an app runs on, given the
// site's components: theirs when set, else the catalog's.
func (c *Catalog) Placement(app string, components map[string]site.Component) string {
	if comp, ok := components[app]; ok && comp.Placement != "" {
		return comp.Placement
	}
	if a, ok := c.apps[app]; ok {
		return a.Placement
	}
	return ""
}

func (c *Catalog) placement(app string, in RenderInput) string {
	return c.Placement(app, in.Components)
}

// Constraint is the placement constraint for a label value.
func Constraint(label string) string {
	return "node.labels." + site.NodeLabel + " == " + label
}

// dbData is what templates know of the app's database.
type dbData struct {
	Engine, Name, User, Host string
	Port                     int
	// PasswordSecret is the secrets-file name of the password.
	PasswordSecret string
}

type redisData struct {
	Host string
	Port int
	DB   int
}

type smtpData struct {
	Host string
	Port int
	From string
}

// tdata is the data every template of an app gets.
type tdata struct {
	App        *App
	Name       string
	Domain     string
	AdminEmail string
	TLSMode    string
	// Host is the app's public name, URL its base URL.
	Host      string
	URL       string
	Placement string // the constraint, ready to use
	Label     string // the label value (infra, common)
	Network   string
	Images    map[string]string
	Options   map[string]any
	DB        *dbData
	Redis     *redisData
	SMTP      smtpData
	// Configs maps a rendered file to the name of its swarm config or
	// secret (a new name per content, since neither can change in place).
	Configs map[string]string
	// Upstream is where the edge proxies the app to.
	Upstream string
	// Edge settings, for the edge's templates.
	Edge *edgeData
	// OIDC is the app's client in the site's Keycloak realm, or nil.
	OIDC *oidcData
	// Metrics is the host folder of textfile metrics (layout.Metrics).
	Metrics string
}

// site-wide edge settings every template may need (URLs carry the port
// when it is not 443).
type edgeData struct {
	HTTPPort, HTTPSPort int
	Webroot             string // acme.Webroot, bind-mounted for HTTP-01
	TLSDir              string // TLSDir: the edge's certificate on the manager
	Vhosts              []confFile
	Apex                string // well-known locations gathered from apps
	Home                string // URL the bare domain redirects to
	// Streams are the chosen apps' ports the edge's stream proxy
	// forwards (Port.Via edge); Stream is its nginx.conf.
	Streams []streamData
	Stream  confFile
}

// streamData is one port of the edge's stream proxy.
type streamData struct {
	App, Title, Use string
	Port            int
	Upstream        string // host:port on the overlay
}

// Streams lists the ports the edge's stream proxy forwards for the
// selected apps, by port.
func (c *Catalog) Streams(selected []string) []streamData {
	var out []streamData
	for _, name := range selected {
		a, ok := c.apps[name]
		if !ok {
			continue
		}
		for _, p := range a.Ports {
			if p.Via == ViaEdge {
				out = append(out, streamData{App: name, Title: a.Title, Use: p.Use, Port: p.Port,
					Upstream: fmt.Sprintf("%s:%d", Hostname(name, p.ServiceOf(a)), p.TargetPort())})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

type confFile struct {
	File, Config, Target string
}

// EdgePorts are the edge's HTTP and HTTPS ports for the site (80 and 443
// unless the edge's options say otherwise).
func (c *Catalog) EdgePorts(in RenderInput) (int, int, error) {
	e, ok := c.apps[EdgeName]
	if !ok {
		return 80, 443, nil
	}
	o, err := e.ParseOptions(in.Components[EdgeName].Options)
	if err != nil {
		return 0, 0, err
	}
	hp, _ := o["http_port"].(int)
	sp, _ := o["https_port"].(int)
	if hp == 0 {
		hp = 80
	}
	if sp == 0 {
		sp = 443
	}
	return hp, sp, nil
}

// Host is the name the edge serves a web app on (cloud.example.org);
// "" for an app without a web interface.
func (c *Catalog) Host(app, domain string) string {
	a, ok := c.apps[app]
	if !ok || !a.Web || a.Subdomain == "" {
		return ""
	}
	return a.Subdomain + "." + domain
}

// URL is an app's base URL in the site.
func (c *Catalog) URL(app string, in RenderInput) string {
	a, ok := c.apps[app]
	if !ok || !a.Web {
		return ""
	}
	_, sp, _ := c.EdgePorts(in)
	u := "https://" + c.Host(app, in.Domain)
	if sp != 443 {
		u += fmt.Sprintf(":%d", sp)
	}
	return u
}

// WebApp is one web app of a site as the monitoring component sees it.
type WebApp struct {
	Name, Title, Host, URL string
	// Path is the path its probe asks for through the edge ("/" when
	// its probe is not an HTTP one).
	Path string
}

// WebApps lists the selected web apps of a site, by name.
func (c *Catalog) WebApps(in RenderInput) []WebApp {
	var out []WebApp
	for _, name := range in.Selected {
		a, ok := c.apps[name]
		if !ok || !a.Web || a.Subdomain == "" {
			continue
		}
		w := WebApp{Name: name, Title: a.Title, Host: c.Host(name, in.Domain), URL: c.URL(name, in), Path: "/"}
		if a.Probe != nil && a.Probe.HTTP != nil && a.Probe.HTTP.Path != "" {
			w.Path = a.Probe.HTTP.Path
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (c *Catalog) data(app string, in RenderInput) (*tdata, error) {
	a, ok := c.apps[app]
	if !ok {
		return nil, fmt.Errorf("%q is not in the app catalog", app)
	}
	opts, err := a.ParseOptions(in.Components[app].Options)
	if err != nil {
		return nil, err
	}
	label := c.placement(app, in)
	network := in.Network
	if network == "" {
		network = swarm.Network
	}
	d := &tdata{
		App: a, Name: a.Name, Domain: in.Domain, AdminEmail: in.AdminEmail, TLSMode: in.TLSMode,
		Placement: Constraint(label), Label: label, Network: network,
		Images: a.Images, Options: opts, Configs: map[string]string{},
		SMTP:    smtpData{Host: Hostname("smtp", "smtp"), Port: 587, From: "noreply@" + in.Domain},
		Metrics: layout.Metrics,
	}
	if s, ok := c.apps["smtp"]; ok {
		d.SMTP = smtpData{Host: Hostname(s.Name, s.Service), Port: s.Port, From: "noreply@" + in.Domain}
	}
	if a.Web {
		d.Host = c.Host(app, in.Domain)
		d.URL = c.URL(app, in)
	}
	d.OIDC = c.oidc(a, in)
	if a.Port > 0 {
		scheme := a.UpstreamScheme
		if scheme == "" {
			scheme = "http"
		}
		d.Upstream = fmt.Sprintf("%s://%s:%d", scheme, Hostname(a.Name, a.Service), a.Port)
	}
	if db := a.Database; db != nil {
		e := c.apps[db.Engine]
		d.DB = &dbData{Engine: e.Provides.Engine, Name: db.Name, User: db.User, Host: Hostname(e.Name, e.Service), Port: e.Port, PasswordSecret: SecretName(a.Name, "db-password")}
	}
	if a.Redis != nil {
		r := c.apps["redis"]
		d.Redis = &redisData{Host: Hostname(r.Name, r.Service), Port: r.Port, DB: a.Redis.DB}
	}
	return d, nil
}

func (c *Catalog) funcs(app string, in RenderInput) template.FuncMap {
	network := in.Network
	if network == "" {
		network = swarm.Network
	}
	secret := func(owner, name string) (string, error) {
		if in.Secret == nil {
			return "", fmt.Errorf("no secret source to render %s's secret %s", owner, name)
		}
		return in.Secret(SecretName(owner, name))
	}
	other := func(name string) (*App, error) {
		a, ok := c.apps[name]
		if !ok {
			return nil, fmt.Errorf("%q is not in the app catalog", name)
		}
		return a, nil
	}
	return template.FuncMap{
		"secret":    func(name string) (string, error) { return secret(app, name) },
		"secretOf":  secret,
		"dsecret":   func(name string) string { return DockerSecretName(app, name) },
		"dsecretOf": DockerSecretName,
		// dsecretName is the swarm name of the current value of the
		// app's secret (swarm.VersionedName): what its stack names under
		// `name:`, so a changed value is a new secret and a redeploy.
		"dsecretName": func(name string) (string, error) {
			if in.Secret == nil {
				return "", fmt.Errorf("no secret source to render %s's secret %s", app, name)
			}
			v, err := in.Secret(SecretName(app, name))
			if err != nil {
				return "", err
			}
			key, err := in.Secret(swarm.VersionKeySecret)
			if err != nil {
				return "", err
			}
			return swarm.VersionedName(key, DockerSecretName(app, name), []byte(v)), nil
		},
		"svc": func(name string) string { return Hostname(app, name) },
		// networks joins a service to the shared network under its
		// host name (a YAML flow mapping).
		"networks": func(service string) string {
			return "{" + network + ": {aliases: [" + Hostname(app, service) + "]}}"
		},
		"hostOf": func(name string) (string, error) {
			a, err := other(name)
			if err != nil {
				return "", err
			}
			return Hostname(a.Name, a.Service), nil
		},
		"portOf": func(name string) (int, error) {
			a, err := other(name)
			if err != nil {
				return 0, err
			}
			return a.Port, nil
		},
		"urlOf": func(name string) (string, error) {
			if _, err := other(name); err != nil {
				return "", err
			}
			return c.URL(name, in), nil
		},
		"has": func(name string) bool { return contains(in.Selected, name) },
		// webApps lists the site's web apps (name, title, public host
		// name, URL and the path of their probe), by name: what the
		// monitoring component probes through the edge.
		"webApps": func() []WebApp { return c.WebApps(in) },
		// httpsPort is the edge's HTTPS port, the one browsers use for
		// every web app (443 unless the edge's options say otherwise).
		"httpsPort": func() (int, error) {
			_, sp, err := c.EdgePorts(in)
			return sp, err
		},
		// The escapers (sh, yaml, compose, json, nginx, sql) come from
		// the templates package's loader.
		"trimPrefix": strings.TrimPrefix,
		// sha256hex and b64sha256 derive fixed-format keys (hex for
		// Garage's rpc_secret, base64 for Laravel's APP_KEY) from a secret.
		"sha256hex": func(v string) string { sum := sha256.Sum256([]byte(v)); return hex.EncodeToString(sum[:]) },
		"b64sha256": func(v string) string {
			sum := sha256.Sum256([]byte(v))
			return base64.StdEncoding.EncodeToString(sum[:])
		},
		// vapidPrivate and vapidPublic derive a Web Push (VAPID) P-256 key
		// pair from a secret, in the encoding Mastodon reads.
		"vapidPrivate": func(seed string) (string, error) {
			k, err := vapidKey(seed)
			if err != nil {
				return "", err
			}
			return base64.URLEncoding.EncodeToString(k.Bytes()), nil
		},
		"vapidPublic": func(seed string) (string, error) {
			k, err := vapidKey(seed)
			if err != nil {
				return "", err
			}
			return base64.URLEncoding.EncodeToString(k.PublicKey().Bytes()), nil
		},
		// tlsCert and tlsKey derive a self-signed certificate for names
		// and its Ed25519 key from a secret (PEM), for a service whose
		// peers do not check certificates but which must not run on a
		// key everyone has (eduMEET's media node ships a demo key).
		"tlsCert": func(seed string, names ...string) (string, error) {
			cert, _, err := tlsPair(seed, names)
			return cert, err
		},
		"tlsKey": func(seed string) (string, error) {
			_, key, err := tlsPair(seed, nil)
			return key, err
		},
		// seq lists the whole numbers from a to b, for port ranges.
		"seq": func(a, b int) []int {
			var out []int
			for i := a; i <= b; i++ {
				out = append(out, i)
			}
			return out
		},
		"mb": func(n int) string { return fmt.Sprintf("%dM", n) },
		// dn turns a domain into an LDAP base DN: dc=example,dc=org.
		"dn": func(domain string) string { return "dc=" + strings.Join(strings.Split(domain, "."), ",dc=") },
	}
}

func (c *Catalog) parse(app, file string, funcs template.FuncMap) (*template.Template, error) {
	return templates.Parse(c.fsys, path.Join(app, file), funcs)
}

// execute renders the template called name (a define such as "apex"),
// or t itself when name is its file.
func execute(t *template.Template, name string, data any) ([]byte, error) {
	if d := t.Lookup(name); d != nil {
		t = d
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

func hash12(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

func configBase(app, file string) string {
	return app + "_" + strings.NewReplacer(".", "_", "-", "_").Replace(file)
}

// edgeConfigName names a config of the edge by a plain hash of its
// content: the edge's nginx files hold no secret.
func edgeConfigName(file string, content []byte) string {
	return configBase(EdgeName, file) + "_" + hash12(content)
}

// configName names the swarm config (or secret) of a rendered file: a
// version per content (swarm.VersionedName), so a changed file is a new
// config and a redeploy, and the deploy removes the old one. In a run
// the version is an HMAC under the site's key (in.Secret gives it): a
// file holding a password (redis.conf) must not be named by a plain
// hash anyone with docker access could test guesses against. Without a
// secret source (documentation, tests) no file can hold a secret, and a
// plain hash names it.
func configName(in RenderInput, app, file string, content []byte) (string, error) {
	base := configBase(app, file)
	if in.Secret == nil {
		return base + "_" + hash12(content), nil
	}
	key, err := in.Secret(swarm.VersionKeySecret)
	if err != nil {
		return "", err
	}
	return swarm.VersionedName(key, base, content), nil
}

// Render renders an app's stack for a site: stack.yaml, and its files.
func (c *Catalog) Render(app string, in RenderInput) (swarm.Stack, error) {
	d, err := c.data(app, in)
	if err != nil {
		return swarm.Stack{}, err
	}
	files := map[string][]byte{}
	if d.App.Kind == KindEdge {
		if err := c.edgeFiles(d, in, files); err != nil {
			return swarm.Stack{}, err
		}
	}
	funcs := c.funcs(app, in)
	for _, f := range d.App.Files {
		t, err := c.parse(app, f, funcs)
		if err != nil {
			return swarm.Stack{}, err
		}
		out, err := execute(t, f, d)
		if err != nil {
			return swarm.Stack{}, fmt.Errorf("%s: %w", app, err)
		}
		name := strings.TrimSuffix(f, ".tmpl")
		files[name] = out
		if d.Configs[name], err = configName(in, app, name, out); err != nil {
			return swarm.Stack{}, err
		}
	}
	t, err := c.parse(app, "stack.yaml.tmpl", funcs)
	if err != nil {
		return swarm.Stack{}, err
	}
	stack, err := execute(t, "stack.yaml.tmpl", d)
	if err != nil {
		return swarm.Stack{}, fmt.Errorf("%s: %w", app, err)
	}
	pin, err := c.pinOf(app, in, stack)
	if err != nil {
		return swarm.Stack{}, err
	}
	if pin != nil {
		// Its services hold data: they follow the pin's node label
		// (which the deploy step puts on one node of the placement),
		// not the placement label that a second node may carry too.
		d.Placement = swarm.PinConstraint(pin.Group)
		if stack, err = execute(t, "stack.yaml.tmpl", d); err != nil {
			return swarm.Stack{}, fmt.Errorf("%s: %w", app, err)
		}
	}
	files["stack.yaml"] = stack
	return swarm.Stack{Name: app, Files: files, Pin: pin}, nil
}

// pinOf is the pin of an app whose stack (rendered with its placement
// label) declares volumes, that shares another app's node (colocate) or
// that publishes ports on the edge's node; nil for the others, which any
// node of their placement may run.
func (c *Catalog) pinOf(app string, in RenderInput, stack []byte) (*swarm.Pin, error) {
	a := c.apps[app]
	if a.Kind == KindEdge {
		return nil, nil // on the manager, by its own constraint
	}
	var f struct {
		Services map[string]struct {
			Deploy struct {
				Mode string `yaml:"mode"`
			} `yaml:"deploy"`
		} `yaml:"services"`
		Volumes map[string]*struct {
			Name     string `yaml:"name"`
			External bool   `yaml:"external"`
		} `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(stack, &f); err != nil {
		return nil, fmt.Errorf("%s: the rendered stack.yaml is not YAML: %w", app, err)
	}
	var vols []string
	for _, k := range sortedKeys(f.Volumes) {
		v := f.Volumes[k]
		switch {
		case v != nil && v.External:
		case v != nil && v.Name != "":
			vols = append(vols, v.Name)
		default:
			vols = append(vols, app+"_"+k) // what docker stack deploy names it
		}
	}
	if len(vols) == 0 && a.Colocate == "" && !a.OnEdgeNode() {
		return nil, nil
	}
	group := app
	if a.Colocate != "" {
		group = a.Colocate
	}
	p := &swarm.Pin{Group: group, LabelKey: site.NodeLabel, LabelValue: c.placement(app, in), Manager: a.OnEdgeNode(), Volumes: vols}
	p.Services = append(p.Services, ServiceName(app, a.Service))
	for _, svc := range sortedKeys(f.Services) {
		// A global service runs on every node (an exporter): it holds
		// no data and must not make its nodes look like the pinned one.
		if svc != a.Service && f.Services[svc].Deploy.Mode != "global" {
			p.Services = append(p.Services, ServiceName(app, svc))
		}
	}
	return p, nil
}

// Vhost is one web app's server block for the edge.
type Vhost struct {
	App  string
	Host string
	Conf []byte
	// Apex holds locations the app adds to the bare domain's server
	// (Synapse's .well-known delegation).
	Apex []byte
}

// Vhosts renders the server blocks of the selected web apps, sorted by app.
func (c *Catalog) Vhosts(in RenderInput) ([]Vhost, error) {
	sel := append([]string(nil), in.Selected...)
	sort.Strings(sel)
	var out []Vhost
	for _, name := range sel {
		a, ok := c.apps[name]
		if !ok {
			return nil, fmt.Errorf("%q is not in the app catalog", name)
		}
		if !a.Web {
			continue
		}
		d, err := c.data(name, in)
		if err != nil {
			return nil, err
		}
		hp, sp, err := c.EdgePorts(in)
		if err != nil {
			return nil, err
		}
		d.Edge = &edgeData{HTTPPort: hp, HTTPSPort: sp}
		funcs := c.funcs(name, in)
		t, err := c.parse(name, "nginx.conf.tmpl", funcs)
		if err != nil {
			return nil, err
		}
		body, err := execute(t, "nginx.conf.tmpl", d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		var apex []byte
		if t.Lookup("apex") != nil {
			if apex, err = execute(t, "apex", d); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		wrap, err := c.parse(EdgeName, "vhost.conf.tmpl", funcs)
		if err != nil {
			return nil, err
		}
		conf, err := execute(wrap, "vhost.conf.tmpl", struct {
			*tdata
			Body string
		}{d, string(body)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, Vhost{App: name, Host: d.Host, Conf: conf, Apex: apex})
	}
	return out, nil
}

// edgeFiles renders the edge's nginx files: its http-level conf, the
// snippets and one conf per web app, each a swarm config.
func (c *Catalog) edgeFiles(d *tdata, in RenderInput, files map[string][]byte) error {
	hp, sp, err := c.EdgePorts(in)
	if err != nil {
		return err
	}
	e := &edgeData{HTTPPort: hp, HTTPSPort: sp, Webroot: acme.Webroot, TLSDir: TLSDir}
	d.Edge = e
	vhosts, err := c.Vhosts(in)
	if err != nil {
		return err
	}
	var apex []string
	for _, v := range vhosts {
		if len(bytes.TrimSpace(v.Apex)) > 0 {
			apex = append(apex, strings.TrimRight(string(v.Apex), "\n"))
		}
		if a := c.apps[v.App]; a.Home {
			e.Home = c.URL(v.App, in)
		}
	}
	e.Apex = strings.Join(apex, "\n")
	add := func(file, target string, content []byte) {
		files[file] = content
		e.Vhosts = append(e.Vhosts, confFile{File: file, Config: edgeConfigName(file, content), Target: target})
	}
	funcs := c.funcs(EdgeName, in)
	for _, f := range []struct{ tmpl, file, target string }{
		{"http.conf.tmpl", "default.conf", "/etc/nginx/conf.d/default.conf"},
		{"proxy.inc.tmpl", "collabstack-proxy.inc", "/etc/nginx/snippets/collabstack-proxy.inc"},
	} {
		t, err := c.parse(EdgeName, f.tmpl, funcs)
		if err != nil {
			return err
		}
		out, err := execute(t, f.tmpl, d)
		if err != nil {
			return err
		}
		add(f.file, f.target, out)
	}
	for _, v := range vhosts {
		add("vhost-"+v.App+".conf", "/etc/nginx/conf.d/vhost-"+v.App+".conf", v.Conf)
	}
	if e.Streams = c.Streams(in.Selected); len(e.Streams) > 0 {
		t, err := c.parse(EdgeName, "stream.conf.tmpl", funcs)
		if err != nil {
			return err
		}
		out, err := execute(t, "stream.conf.tmpl", d)
		if err != nil {
			return err
		}
		files["stream.conf"] = out
		e.Stream = confFile{File: "stream.conf", Config: edgeConfigName("stream.conf", out), Target: "/etc/nginx/nginx.conf"}
	}
	return nil
}

// vapidKey derives a P-256 private key from a secret: the same secret
// always gives the same key, so re-renders change nothing.
func vapidKey(seed string) (*ecdh.PrivateKey, error) {
	sum := sha256.Sum256([]byte("collabstack vapid " + seed))
	return ecdh.P256().NewPrivateKey(sum[:])
}

// tlsPair derives an Ed25519 key from a secret and a self-signed
// certificate for names with it: the same secret and names always give
// the same PEM, so re-renders change nothing (Ed25519 signatures are
// deterministic; serial and validity come from the seed and fixed dates).
func tlsPair(seed string, names []string) (certPEM, keyPEM string, err error) {
	sum := sha256.Sum256([]byte("collabstack tls " + seed))
	key := ed25519.NewKeyFromSeed(sum[:])
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", err
	}
	keyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if len(names) == 0 {
		return "", keyPEM, nil
	}
	serial := new(big.Int).SetBytes(sum[:16])
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: names[0]},
		DNSNames:     names,
		NotBefore:    time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return "", "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})), keyPEM, nil
}
