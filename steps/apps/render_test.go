package apps

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

const sampleDomain = "collab.example.org"

// secretMarker starts every generated secret of the tests, so a value in
// a rendered file can be told from a literal written in a template.
const secretMarker = "gEn"

func testSecret(name string) (string, error) {
	v := secretMarker + strings.Map(func(r rune) rune {
		if r == '-' {
			return 'x'
		}
		return r
	}, name) + "Q7z"
	derivedFrom(v)
	return v, nil
}

// derived holds values templates derive from generated secrets (keys in
// the formats apps want): they count as generated too.
var derived sync.Map

func derivedFrom(v string) {
	sum := sha256.Sum256([]byte(v))
	derived.Store(hex.EncodeToString(sum[:]), true)
	derived.Store("base64:"+base64.StdEncoding.EncodeToString(sum[:]), true)
	if k, err := vapidKey(v); err == nil {
		derived.Store(base64.URLEncoding.EncodeToString(k.Bytes()), true)
		derived.Store(base64.URLEncoding.EncodeToString(k.PublicKey().Bytes()), true)
	}
}

func isDerived(v string) bool { _, ok := derived.Load(v); return ok }

func loadCatalog(t testing.TB) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// everything is the input of a site that chose every app.
func everything(t testing.TB, c *Catalog) RenderInput {
	t.Helper()
	all, err := c.Resolve(c.Names())
	if err != nil {
		t.Fatal(err)
	}
	return RenderInput{Domain: sampleDomain, AdminEmail: "admin@example.org", TLSMode: site.TLSSelfSigned, Secret: testSecret, Selected: all}
}

// renderAll renders every app's stack for a site that chose every app.
func renderAll(t testing.TB, c *Catalog) map[string]swarm.Stack {
	t.Helper()
	in := everything(t, c)
	out := map[string]swarm.Stack{}
	for _, name := range in.Selected {
		st, err := c.Render(name, in)
		if err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		if st.Name != name {
			t.Fatalf("stack of %s is named %s", name, st.Name)
		}
		out[name] = st
	}
	return out
}

type composeFile struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Environment map[string]any    `yaml:"environment"`
		Command     any               `yaml:"command"`
		Ports       []map[string]any  `yaml:"ports"`
		Volumes     []any             `yaml:"volumes"`
		Networks    any               `yaml:"networks"`
		Healthcheck map[string]any    `yaml:"healthcheck"`
		Secrets     []any             `yaml:"secrets"`
		Labels      map[string]string `yaml:"labels"`
		Deploy      struct {
			Mode         string `yaml:"mode"`
			EndpointMode string `yaml:"endpoint_mode"`
			Placement    struct {
				Constraints []string `yaml:"constraints"`
			} `yaml:"placement"`
			Resources struct {
				Limits struct {
					Memory string `yaml:"memory"`
				} `yaml:"limits"`
				Reservations struct {
					Memory string `yaml:"memory"`
				} `yaml:"reservations"`
			} `yaml:"resources"`
		} `yaml:"deploy"`
	} `yaml:"services"`
	Volumes  map[string]any `yaml:"volumes"`
	Networks map[string]struct {
		External bool `yaml:"external"`
	} `yaml:"networks"`
}

func parseCompose(t testing.TB, app string, data []byte) composeFile {
	t.Helper()
	var f composeFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: stack.yaml is not YAML: %v\n%s", app, err, data)
	}
	return f
}

func memMB(s string) (int, error) {
	var n int
	var unit string
	if _, err := fmt.Sscanf(s, "%d%s", &n, &unit); err != nil {
		return 0, fmt.Errorf("%q: %v", s, err)
	}
	switch unit {
	case "M":
		return n, nil
	case "G":
		return n * 1024, nil
	}
	return 0, fmt.Errorf("%q: write memory as <n>M or <n>G", s)
}

var passwordKey = regexp.MustCompile(`(?i)(pass|secret|token|pwd|_key$|apikey)`)

func TestCatalogLoadsAndEveryAppHasWhatTheIssueAsks(t *testing.T) {
	c := loadCatalog(t)
	if len(c.Names()) < 8 {
		t.Fatalf("only %d apps", len(c.Names()))
	}
	var s site.Catalog = c
	if !s.Has("postgres") || s.Has("postgre") {
		t.Error("Has is wrong")
	}
	for _, a := range c.Apps() {
		if a.Kind == KindApp && a.Web && a.Subdomain == "" {
			t.Errorf("%s: web app without subdomain", a.Name)
		}
	}
}

func TestEveryStackFollowsTheRules(t *testing.T) {
	c := loadCatalog(t)
	stacks := renderAll(t, c)
	published := map[string]string{}
	for _, name := range sortedKeys(stacks) {
		a, _ := c.Get(name)
		st := stacks[name]
		f := parseCompose(t, name, st.Files["stack.yaml"])
		if len(f.Services) == 0 {
			t.Errorf("%s: no services", name)
			continue
		}
		if _, ok := f.Services[a.Service]; !ok {
			t.Errorf("%s: main service %q is not in the stack", name, a.Service)
		}
		if n, ok := f.Networks[swarmNetwork()]; !ok || !n.External {
			t.Errorf("%s: the stack does not join the external network %s", name, swarmNetwork())
		}
		var limits, reservations int
		var ports []string
		for svcName, svc := range f.Services {
			where := name + "/" + svcName
			if err := CheckImage(svc.Image); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			if a.Images[svcName] != svc.Image {
				t.Errorf("%s: image %q is not the metadata's %q", where, svc.Image, a.Images[svcName])
			}
			if !hasAlias(svc.Networks, Hostname(name, svcName)) {
				t.Errorf("%s: not on %s under the alias %s (use networks \"%s\")", where, swarmNetwork(), Hostname(name, svcName), svcName)
			}
			// A global service (an exporter reading each node) runs on
			// every node: no constraint, and it may read the host through
			// read-only bind mounts, which hold no data of its own.
			global := svc.Deploy.Mode == "global"
			if len(svc.Deploy.Placement.Constraints) == 0 && !global {
				t.Errorf("%s: no placement constraint", where)
			}
			if svc.Deploy.EndpointMode != "dnsrr" {
				t.Errorf("%s: endpoint_mode is %q, want dnsrr (no IPVS)", where, svc.Deploy.EndpointMode)
			}
			lim, err := memMB(svc.Deploy.Resources.Limits.Memory)
			if err != nil {
				t.Errorf("%s: memory limit: %v", where, err)
			}
			res, err := memMB(svc.Deploy.Resources.Reservations.Memory)
			if err != nil {
				t.Errorf("%s: memory reservation: %v", where, err)
			}
			if res > lim {
				t.Errorf("%s: reservation %d MB above limit %d MB", where, res, lim)
			}
			limits += lim
			reservations += res
			for _, p := range svc.Ports {
				if p["mode"] != "host" {
					t.Errorf("%s: port %v is not published in host mode", where, p)
				}
				key := fmt.Sprintf("%v/%v", p["published"], p["protocol"])
				ports = append(ports, key)
				if other, ok := published[key]; ok {
					t.Errorf("%s: host port %s is %s's already", where, key, other)
				}
				published[key] = where
			}
			for _, v := range svc.Volumes {
				if m, ok := v.(map[string]any); ok && global && m["type"] == "bind" {
					if m["read_only"] != true {
						t.Errorf("%s: a global service reads the host: make its bind mount of %v read_only", where, m["source"])
					}
					continue
				}
				checkVolume(t, where, v, f.Volumes)
			}
			for k, v := range svc.Environment {
				val := fmt.Sprint(v)
				if passwordKey.MatchString(k) && !strings.HasSuffix(k, "_FILE") && val != "" &&
					!strings.Contains(val, secretMarker) && !isDerived(val) && !strings.HasPrefix(val, "/run/secrets/") && !secretEnvAllowed[k] {
					t.Errorf("%s: %s=%q looks like a literal secret: take it from the secrets (secret, dsecret)", where, k, val)
				}
			}
		}
		if a.Resources.RAMMB < reservations || a.Resources.RAMMB > limits {
			t.Errorf("%s: ram_mb %d is outside its services' reservations %d MB .. limits %d MB", name, a.Resources.RAMMB, reservations, limits)
		}
		// An app publishes its ports on the edge's node (via: node); the
		// edge publishes its own and those its stream proxy forwards.
		var want []string
		for _, p := range a.Ports {
			if p.Via != ViaNode {
				continue
			}
			for n := p.Port; n <= p.End(); n++ {
				want = append(want, fmt.Sprintf("%d/%s", n, p.Protocol))
			}
		}
		if a.Kind == KindEdge {
			for _, s := range c.Streams(everything(t, c).Selected) {
				want = append(want, fmt.Sprintf("%d/tcp", s.Port))
			}
		}
		sort.Strings(want)
		sort.Strings(ports)
		if strings.Join(want, ",") != strings.Join(ports, ",") {
			t.Errorf("%s: published ports %v, metadata says %v", name, ports, want)
		}
	}
}

// secretEnvAllowed are variables whose name looks secret but whose value
// is not.
var secretEnvAllowed = map[string]bool{
	// The OIDC token endpoint's URL (Keycloak's, from .OIDC), not a token.
	"CMD_OAUTH2_TOKEN_URL": true,
	"PF_OIDC_TOKEN_URL":    true,
}

func swarmNetwork() string { return swarm.Network }

func hasAlias(networks any, alias string) bool {
	m, ok := networks.(map[string]any)
	if !ok {
		return false
	}
	n, ok := m[swarmNetwork()].(map[string]any)
	if !ok {
		return false
	}
	list, _ := n["aliases"].([]any)
	for _, a := range list {
		if a == alias {
			return true
		}
	}
	return false
}

var allowedBinds = []string{"/var/lib/collabstack/", "/var/run/docker.sock"}

func checkVolume(t *testing.T, where string, v any, named map[string]any) {
	switch x := v.(type) {
	case string:
		parts := strings.SplitN(x, ":", 2)
		if len(parts) < 2 {
			t.Errorf("%s: anonymous volume %q: name it, so the data outlives the container", where, x)
			return
		}
		if strings.HasPrefix(parts[0], "/") || strings.HasPrefix(parts[0], ".") {
			checkBind(t, where, parts[0])
			return
		}
		if _, ok := named[parts[0]]; !ok {
			t.Errorf("%s: volume %q is not declared under volumes:", where, parts[0])
		}
	case map[string]any:
		switch x["type"] {
		case "tmpfs":
		case "bind":
			checkBind(t, where, fmt.Sprint(x["source"]))
		case "volume", nil:
			src, _ := x["source"].(string)
			if src == "" {
				t.Errorf("%s: anonymous volume %v: name it", where, x)
			} else if _, ok := named[src]; !ok {
				t.Errorf("%s: volume %q is not declared under volumes:", where, src)
			}
		default:
			t.Errorf("%s: volume type %v", where, x["type"])
		}
	}
}

func checkBind(t *testing.T, where, src string) {
	for _, ok := range allowedBinds {
		if strings.HasPrefix(src, ok) {
			return
		}
	}
	t.Errorf("%s: bind mount of %s: keep data in named volumes", where, src)
}

func TestResolveAddsDependenciesFirstAndTheEdge(t *testing.T) {
	c := loadCatalog(t)
	for _, a := range c.Apps() {
		order, err := c.Resolve([]string{a.Name})
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		pos := map[string]int{}
		for i, n := range order {
			pos[n] = i
		}
		for _, n := range order {
			x, _ := c.Get(n)
			for _, r := range x.Requires {
				if p, ok := pos[r]; !ok || p > pos[n] {
					t.Errorf("%s: %s comes before its requirement %s in %v", a.Name, n, r, order)
				}
			}
		}
		hasWeb := false
		for _, n := range order {
			x, _ := c.Get(n)
			hasWeb = hasWeb || x.Web
		}
		if _, ok := pos[EdgeName]; ok != hasWeb && a.Name != EdgeName {
			t.Errorf("%s: edge in the order is %v, a web app is there: %v", a.Name, ok, hasWeb)
		}
	}
	if _, err := c.Resolve([]string{"etherpda"}); err == nil || !strings.Contains(err.Error(), "etherpad") {
		t.Errorf("a typo: %v", err)
	}
}

func TestOptionsAreCheckedWithDidYouMean(t *testing.T) {
	c := loadCatalog(t)
	a, _ := c.Get(EdgeName)
	if _, err := a.ParseOptions(map[string]any{"https_prot": 8443}); err == nil || !strings.Contains(err.Error(), "https_port") {
		t.Errorf("typo: %v", err)
	}
	if _, err := a.ParseOptions(map[string]any{"https_port": "x"}); err == nil {
		t.Error("a string for an int option was taken")
	}
	o, err := a.ParseOptions(map[string]any{"https_port": 8443})
	if err != nil || o["https_port"] != 8443 || o["http_port"] != 80 {
		t.Errorf("%v %v", o, err)
	}
}

func TestEdgePortsChangeURLsAndPublishing(t *testing.T) {
	c := loadCatalog(t)
	in := everything(t, c)
	in.Components = map[string]site.Component{EdgeName: {Options: map[string]any{"http_port": 8080, "https_port": 8443}}}
	st, err := c.Render(EdgeName, in)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(st.Files["stack.yaml"]); !strings.Contains(s, "published: 8443") || !strings.Contains(s, "published: 8080") {
		t.Errorf("edge ports not published:\n%s", s)
	}
	for _, a := range c.Apps() {
		if a.Web && !strings.HasSuffix(c.URL(a.Name, in), ":8443") {
			t.Errorf("%s: URL %s lacks the port", a.Name, c.URL(a.Name, in))
		}
	}
}

func TestDatabaseSQLQuotesAndIsIdempotent(t *testing.T) {
	c := loadCatalog(t)
	for _, a := range c.Apps() {
		if a.Database == nil {
			continue
		}
		create, check, err := c.DatabaseSQL(a.Name, "pa'ss")
		if err != nil {
			t.Fatalf("%s: %v", a.Name, err)
		}
		if !strings.Contains(string(create), "'pa''ss'") {
			t.Errorf("%s: password not quoted:\n%s", a.Name, create)
		}
		if !strings.Contains(string(check), "present") {
			t.Errorf("%s: check SQL prints no present", a.Name)
		}
		if !strings.Contains(string(create), "NOT EXISTS") {
			t.Errorf("%s: create SQL is not idempotent", a.Name)
		}
	}
}
