package identity

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

// SSOID is the step that keeps Keycloak's realm, federation and clients.
const SSOID = "identity/sso"

// KeycloakApp is the single sign-on app in the catalog.
const KeycloakApp = apps.SSOApp

// RequestScript is the template of one request through the edge.
const RequestScript = "identity/keycloak-request.sh"

// ClientSecret is the secret (in the site's secrets file) of an app's
// OIDC client; app templates read it as secretOf "keycloak" "client-APP".
func ClientSecret(app string) string { return apps.SecretName(KeycloakApp, apps.ClientSecretName(app)) }

// OIDCApps are the site's apps that get an OIDC client: every selected
// app that speaks OIDC (sso: oidc in its app.yaml) and has a URL, but
// Keycloak itself.
func OIDCApps(c *apps.Catalog, selected []string) []string {
	var out []string
	for _, n := range selected {
		a, ok := c.Get(n)
		if !ok || n == KeycloakApp || !a.Web || !slices.Contains(a.SSO, "oidc") {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// RealmName is the site's realm (apps.RealmName of its name or domain),
// the one app templates put in their issuer URL.
func RealmName(s *site.Site) string { return apps.RealmName(s.Name, s.Domain) }

// WantedSSO is what the site needs in Keycloak; secret gives the site's
// secrets by name (made on first use).
func WantedSSO(s *site.Site, c *apps.Catalog, selected []string, secret func(string) (string, error)) (SSO, error) {
	in := apps.InputFor(s, selected, secret)
	w := SSO{Realm: RealmName(s), DisplayName: s.Domain}
	if slices.Contains(selected, App) {
		pw, err := secret(BindSecret(KeycloakApp))
		if err != nil {
			return SSO{}, err
		}
		w.LDAP = &Federation{URL: "ldap://" + apps.Hostname(App, App) + ":389", BindDN: ReaderDN(s.Domain, KeycloakApp),
			BindPassword: pw, UsersDN: "ou=people," + BaseDN(s.Domain)}
	}
	for _, app := range OIDCApps(c, selected) {
		a, _ := c.Get(app)
		sec, err := secret(ClientSecret(app))
		if err != nil {
			return SSO{}, err
		}
		u := c.URL(app, in)
		w.Clients = append(w.Clients, OIDCClient{ClientID: app, Name: a.Title, RootURL: u, Secret: sec,
			RedirectURIs: []string{u + "/*"}, WebOrigins: []string{u}})
	}
	return w, nil
}

// CurlTransport sends requests with curl on a host (the swarm manager)
// through the edge on that host, to Keycloak's public name.
type CurlTransport struct {
	Host host.Host
	// Name and Port are Keycloak's name on the edge and the edge's HTTPS port.
	Name string
	Port int
}

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9._~+/=-]*$`)

// Do implements Transport.
func (t CurlTransport) Do(ctx context.Context, r Request) (int, []byte, error) {
	if !tokenRE.MatchString(r.Token) {
		return 0, nil, errors.New("keycloak: the access token has characters a bearer token cannot have")
	}
	u := fmt.Sprintf("https://%s:%d%s", t.Name, t.Port, r.Path)
	text, err := script.RenderFile(RequestScript, map[string]any{
		"Method": r.Method, "URL": u, "Resolve": fmt.Sprintf("%s:%d:127.0.0.1", t.Name, t.Port),
		"ContentType": r.ContentType, "Body": string(r.Body), "Token": r.Token})
	if err != nil {
		return 0, nil, err
	}
	// The script (with the token and body) goes on stdin, never argv.
	out, err := t.Host.Run(ctx, "sh -s", host.RunOpts{Stdin: []byte(text)})
	if err != nil {
		return 0, nil, fmt.Errorf("keycloak: %s %s through the edge on %s: %w", r.Method, r.Path, t.Host.Name(), err)
	}
	first, rest, _ := strings.Cut(out, "\n")
	code, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || code == 0 {
		return 0, nil, fmt.Errorf("keycloak: %s %s: no answer through the edge on %s", r.Method, r.Path, t.Host.Name())
	}
	return code, []byte(rest), nil
}

// SSOStep keeps Keycloak's realm, LDAP federation and OIDC clients as
// the site needs them: Check compares the live ones through the Admin
// REST API, Apply changes only the differences. transport (nil: curl on
// the manager through the edge) is replaced in tests.
func SSOStep(s *site.Site, c *apps.Catalog, selected []string, manager string, transport func(env *engine.Env) Transport) engine.Step {
	needs := []string{apps.DeployID(KeycloakApp)}
	if slices.Contains(selected, App) {
		needs = append(needs, DirectoryID)
	}
	if transport == nil {
		transport = func(env *engine.Env) Transport {
			in := apps.InputFor(s, selected, nil)
			_, sp, _ := c.EdgePorts(in)
			return CurlTransport{Host: env.Host, Name: c.Host(KeycloakApp, s.Domain), Port: sp}
		}
	}
	prepare := func(env *engine.Env) (*Admin, SSO, error) {
		secret := func(n string) (string, error) { return env.Secrets.Password(n, apps.SecretLength) }
		want, err := WantedSSO(s, c, selected, secret)
		if err != nil {
			return nil, SSO{}, err
		}
		pw, err := secret(apps.SecretName(KeycloakApp, "admin-password"))
		if err != nil {
			return nil, SSO{}, err
		}
		return &Admin{T: transport(env), User: "admin", Password: pw}, want, nil
	}
	return &engine.Func{
		StepID: SSOID, Name: "Set up single sign-on: the realm, the directory's federation and the apps' OIDC clients in Keycloak",
		On: manager, Comp: KeycloakApp, Needs: needs,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			a, want, err := prepare(env)
			if err != nil {
				return false, err
			}
			changes, err := a.Diff(ctx, want)
			if err != nil {
				return false, err
			}
			for _, ch := range changes {
				env.Logf("%s", ch.Why)
			}
			return len(changes) == 0, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			a, want, err := prepare(env)
			if err != nil {
				return err
			}
			changes, err := a.Diff(ctx, want)
			if err != nil {
				return err
			}
			for _, ch := range changes {
				env.Logf("%s", ch.Why)
				if err := ch.Apply(ctx); err != nil {
					return engine.WithHint(fmt.Errorf("%s: %w", ch.Why, err), "`collabstack logs keycloak` shows what Keycloak said; the step runs again on the next apply")
				}
			}
			return nil
		},
	}
}
