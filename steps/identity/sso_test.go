package identity

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/kcsim"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// The SSO step against a simulated Keycloak (steps/internal/kcsim: the
// endpoints and representations of Keycloak's published Admin REST API
// description). What it cannot show: Keycloak accepting these settings
// for real (its own validation, the LDAP federation reaching the
// directory, logins through the realm); see docs/identity.md.

type goTransport struct {
	base string
	c    *http.Client
}

func (t goTransport) Do(ctx context.Context, r Request) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, t.base+r.Path, bytes.NewReader(r.Body))
	if err != nil {
		return 0, nil, err
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	resp, err := t.c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func ssoSite(httpsPort int) *site.Site {
	comps := map[string]site.Component{"openldap": {}, "keycloak": {}, "forgejo": {}, "etherpad": {}, "adminer": {}}
	if httpsPort != 0 {
		comps["edge"] = site.Component{Options: map[string]any{"https_port": httpsPort}}
	}
	return &site.Site{Name: "Lab Site", Domain: "sso.test", AdminEmail: "admin@sso.test", Components: comps}
}

type ssoLab struct {
	t     *testing.T
	cat   *apps.Catalog
	store *secrets.Store
	sim   *kcsim.Sim
	srv   *httptest.Server
	env   *engine.Env
}

func newSSOLab(t *testing.T) *ssoLab {
	cat, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	store, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := store.Password(apps.SecretName(KeycloakApp, "admin-password"), apps.SecretLength)
	sim, err := kcsim.New("admin", pw)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(sim)
	t.Cleanup(srv.Close)
	return &ssoLab{t: t, cat: cat, store: store, sim: sim, srv: srv,
		env: &engine.Env{Host: host.NewLocal("local"), Secrets: store, Out: func(s string) { t.Log(s) }}}
}

func (l *ssoLab) step(s *site.Site, tr func(*engine.Env) Transport) engine.Step {
	sel, err := l.cat.Selected(s)
	if err != nil {
		l.t.Fatal(err)
	}
	return SSOStep(s, l.cat, sel, "local", tr)
}

func (l *ssoLab) direct(*engine.Env) Transport { return goTransport{l.srv.URL, l.srv.Client()} }

func TestSSOStepAgainstTheSimulator(t *testing.T) {
	ctx := context.Background()
	l := newSSOLab(t)
	s := ssoSite(0)
	st := l.step(s, l.direct)
	if done, err := st.Check(ctx, l.env); err != nil || done {
		t.Fatalf("check on an empty Keycloak: %v %v", done, err)
	}
	if err := st.Apply(ctx, l.env); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if done, err := st.Check(ctx, l.env); err != nil || !done {
		t.Fatalf("check after apply: %v %v", done, err)
	}
	realm := l.sim.Realm("lab-site")
	if realm == nil || realm["registrationAllowed"] != false || realm["bruteForceProtected"] != true {
		t.Errorf("realm: %v", realm)
	}
	comp := l.sim.Component("lab-site", FederationName)
	bind, _ := l.store.Password(BindSecret(KeycloakApp), apps.SecretLength)
	cfg, _ := comp["config"].(map[string]any)
	if comp == nil || comp["parentId"] != realm["id"] || stringsOf(cfg["bindCredential"])[0] != bind ||
		stringsOf(cfg["bindDn"])[0] != "cn=keycloak,ou=services,dc=sso,dc=test" || stringsOf(cfg["connectionUrl"])[0] != "ldap://openldap-openldap:389" ||
		stringsOf(cfg["editMode"])[0] != "READ_ONLY" {
		t.Errorf("federation: %v", comp)
	}
	// Forgejo and Etherpad speak OIDC; Adminer does not; Keycloak is not its own client.
	for _, app := range []string{"forgejo", "etherpad"} {
		c := l.sim.Client("lab-site", app)
		sec, _ := l.store.Password(ClientSecret(app), apps.SecretLength)
		host := l.cat.Host(app, "sso.test")
		if c == nil || c["secret"] != sec || stringsOf(c["redirectUris"])[0] != "https://"+host+"/*" || c["publicClient"] != false {
			t.Errorf("client %s: %v", app, c)
		}
	}
	if l.sim.Client("lab-site", "adminer") != nil || l.sim.Client("lab-site", "keycloak") != nil {
		t.Error("a client for an app without OIDC, or for Keycloak itself")
	}

	// A re-run changes nothing.
	before := l.sim.Changes()
	if err := st.Apply(ctx, l.env); err != nil {
		t.Fatal(err)
	}
	if n := l.sim.Changes() - before; n != 0 {
		t.Errorf("a second apply made %d changes; want none", n)
	}

	// The apps' URLs change (the edge on port 8443): only the clients' redirect URIs follow.
	s2 := ssoSite(8443)
	st2 := l.step(s2, l.direct)
	if done, _ := st2.Check(ctx, l.env); done {
		t.Fatal("check after the URLs changed: done")
	}
	before = l.sim.Changes()
	puts := l.sim.Calls["PUT /admin/realms/{realm}/clients/{id}"]
	if err := st2.Apply(ctx, l.env); err != nil {
		t.Fatal(err)
	}
	if got := l.sim.Calls["PUT /admin/realms/{realm}/clients/{id}"] - puts; got != 2 || l.sim.Changes()-before != 2 {
		t.Errorf("URL change: %d client updates, %d changes; want 2 and 2", got, l.sim.Changes()-before)
	}
	if c := l.sim.Client("lab-site", "forgejo"); stringsOf(c["redirectUris"])[0] != "https://"+l.cat.Host("forgejo", "sso.test")+":8443/*" {
		t.Errorf("redirect URIs after the change: %v", c["redirectUris"])
	}

	// A federation setting changed by hand is put back; its masked
	// password is not taken for a difference.
	comp = l.sim.Component("lab-site", FederationName)
	a := &Admin{T: l.direct(nil), User: "admin", Password: l.sim.AdminPassword}
	comp["config"].(map[string]any)["editMode"] = []string{"WRITABLE"}
	delete(comp, "realm")
	if _, err := a.call(ctx, "PUT", "/admin/realms/lab-site/components/"+comp["id"].(string), comp, nil); err != nil {
		t.Fatal(err)
	}
	if done, _ := st2.Check(ctx, l.env); done {
		t.Error("check missed a federation setting changed by hand")
	}
	st2.Apply(ctx, l.env)
	if done, err := st2.Check(ctx, l.env); !done || err != nil {
		t.Errorf("after putting it back: %v %v", done, err)
	}
}

// The production transport: the rendered request script run by sh with
// curl (on this machine instead of the manager) through --resolve to the
// simulator, as it goes through the edge on the manager.
func TestSSOThroughCurl(t *testing.T) {
	if _, err := host.NewLocal("local").Run(context.Background(), "command -v curl", host.RunOpts{}); err != nil {
		t.Fatal("curl is not installed (apt-get install curl); the production transport needs it")
	}
	ctx := context.Background()
	l := newSSOLab(t)
	u, _ := url.Parse(l.srv.URL)
	port, _ := strconv.Atoi(u.Port())
	curl := func(env *engine.Env) Transport {
		return CurlTransport{Host: env.Host, Name: "sso.sso.test", Port: port}
	}
	st := l.step(ssoSite(0), curl)
	if err := st.Apply(ctx, l.env); err != nil {
		t.Fatalf("apply through curl: %v", err)
	}
	if done, err := st.Check(ctx, l.env); err != nil || !done {
		t.Fatalf("check through curl: %v %v", done, err)
	}
	if c := l.sim.Client("lab-site", "forgejo"); c == nil {
		t.Error("no client made through curl")
	}
}

func TestSimulatorRefusesWhatTheDescriptionDoesNotHave(t *testing.T) {
	ctx := context.Background()
	l := newSSOLab(t)
	a := &Admin{T: l.direct(nil), User: "admin", Password: l.sim.AdminPassword}
	if _, err := a.call(ctx, "POST", "/admin/realms", map[string]any{"realm": "x", "registrationOpen": false}, nil); err == nil || !strings.Contains(err.Error(), "Unrecognized field") {
		t.Errorf("an unknown realm property: %v", err)
	}
	if _, err := a.call(ctx, "POST", "/admin/realms", map[string]any{"realm": "x", "enabled": "yes"}, nil); err == nil {
		t.Error("a string for a boolean was taken")
	}
	if _, err := a.call(ctx, "GET", "/admin/realms/master/clients?clientID=x", nil, nil); err == nil {
		t.Error("an unknown query parameter was taken")
	}
	bad := &Admin{T: l.direct(nil), User: "admin", Password: "wrong"}
	if _, err := bad.call(ctx, "GET", "/admin/realms/master", nil, nil); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong admin password: %v", err)
	}
	if !strings.Contains(kcsim.Source(), "Keycloak 23.0.0") {
		t.Errorf("schema source: %q", kcsim.Source())
	}
}
