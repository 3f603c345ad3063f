package identity

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/assets/standins"
	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// TestOIDCLoginEndToEnd logs a person in to GoToSocial through single
// sign-on, as a browser does, on this machine's dockerd:
//
//   - the app is the real GoToSocial 0.17.3 (its stand-in image, built from
//     its Go module), started with the stack's environment and the config
//     file the catalog renders for a site with Keycloak: its OIDC settings
//     are the catalog's, not the test's;
//   - the provider is the real oidc-provider library (npm) in Keycloak's
//     place (assets/standins/oidc-provider): the realm's issuer URL and
//     Keycloak's endpoint paths, the client identity/sso registers for the
//     site (WantedSSO: ID, secret, redirect URIs), and the LDAP federation
//     it wants (the directory's read-only keycloak account);
//   - the directory is the real slapd (the openldap stand-in) with the tree
//     of identity/directory and a person added as `collabstack users add`
//     adds one;
//   - TLS on both names with a CA of the test's; the edge is a reverse
//     proxy in the test (as the site's nginx: TLS, then HTTP to the app);
//     the browser is an http.Client with a cookie jar that resolves the
//     site's names to the edge and to the provider's container.
//
// It shows: without a session GoToSocial sends the browser to the
// provider's authorization endpoint with its client ID and callback; a
// wrong password is refused there; the right one comes back to the
// callback, GoToSocial takes the ID token (signature, issuer, audience),
// makes the account and shows the person signed in; an API token it then
// issues belongs to that person; a second login finds the same account;
// after `users disable` the login is refused.
// What it cannot show: Keycloak itself (its realm settings, its own LDAP
// federation code and mappers, login themes, brute-force lockout), the
// swarm, the site's nginx.
func TestOIDCLoginEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the GoToSocial and OpenID provider stand-ins (minutes): not in -short")
	}
	if os.Getenv("CI") == "true" && os.Getenv("COLLABSTACK_RUN_GOTOSOCIAL") == "" {
		// On .ci/skips.txt: reviewed, with this reason.
		t.Skip("builds GoToSocial from its Go module first (about 25 minutes of both cores on a loaded machine), more than CI's time budget holds next to the lab tests; run by hand: go test -run TestOIDCLoginEndToEnd ./steps/identity (or set COLLABSTACK_RUN_GOTOSOCIAL=1)")
	}
	testtools.NeedDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Minute)
	defer cancel()
	local := host.NewLocal("local")
	sh := func(cmd string) (string, error) {
		out, err := local.Run(ctx, cmd, host.RunOpts{})
		return strings.TrimSpace(out), err
	}

	cat, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	gts, _ := cat.Get("gotosocial")
	ldapApp, _ := cat.Get(App)
	if _, err := standins.Build(ctx, standins.Options{Out: func(s string) { t.Log(s) }}, "oidc-provider", gts.Images["gotosocial"], ldapApp.Images[App]); err != nil {
		t.Fatalf("build the stand-ins: %v", err)
	}

	// The site: GoToSocial with Keycloak and the directory; its secrets in
	// a secrets file.
	domain := "login.test"
	s := &site.Site{Name: "Login Lab", Domain: domain, AdminEmail: "admin@" + domain,
		Components: map[string]site.Component{KeycloakApp: {}, "gotosocial": {}, App: {}}}
	selected, err := cat.Selected(s)
	if err != nil {
		t.Fatal(err)
	}
	store, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	secret := func(name string) (string, error) { return store.Password(name, apps.SecretLength) }
	want, err := WantedSSO(s, cat, selected, secret)
	if err != nil {
		t.Fatal(err)
	}
	var client *OIDCClient
	for i := range want.Clients {
		if want.Clients[i].ClientID == "gotosocial" {
			client = &want.Clients[i]
		}
	}
	if client == nil || want.LDAP == nil {
		t.Fatalf("identity/sso wants no client for gotosocial or no federation: %+v", want)
	}
	ssoHost, gtsHost := cat.Host(KeycloakApp, domain), cat.Host("gotosocial", domain)
	issuer := "https://" + ssoHost + "/realms/" + want.Realm
	in := apps.InputFor(s, selected, secret)
	stack, err := cat.Render("gotosocial", in)
	if err != nil {
		t.Fatal(err)
	}
	config := stack.Files["config.yaml"]
	var gtsConfig map[string]any
	if err := yaml.Unmarshal(config, &gtsConfig); err != nil || gtsConfig["oidc-issuer"] != issuer || gtsConfig["oidc-client-id"] != client.ClientID ||
		gtsConfig["oidc-client-secret"] != client.Secret {
		t.Fatalf("the rendered config.yaml (%v) lacks the realm's issuer %s or the client %s and its secret:\n%s", err, issuer, client.ClientID, config)
	}

	// TLS for both names, from the site's own CA as a self-signed site
	// has it (constrained to the site's domain).
	ca, err := pki.Load(store, s.Name, pki.ScopeOf(s))
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(name string) (certPEM, keyPEM []byte) {
		c, k, err := ca.Issue(name)
		if err != nil {
			t.Fatal(err)
		}
		return c, k
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ssoCert, ssoKey := leaf(ssoHost)
	oidcConfig, _ := json.Marshal(map[string]any{
		"issuer": issuer, "port": 443, "title": want.DisplayName,
		"tls":     map[string]string{"cert": "/run/secrets/tls.crt", "key": "/run/secrets/tls.key"},
		"clients": []map[string]any{{"client_id": client.ClientID, "secret_file": "/run/secrets/client", "redirect_uris": client.RedirectURIs}},
		"ldap": map[string]string{"url": want.LDAP.URL, "bind_dn": want.LDAP.BindDN, "bind_password_file": "/run/secrets/ldap",
			"users_dn": want.LDAP.UsersDN},
	})
	ldapAdmin, _ := store.Password(apps.SecretName(App, "admin-password"), apps.SecretLength)
	ldapConfig, _ := store.Password(apps.SecretName(App, "config-password"), apps.SecretLength)
	for name, data := range map[string][]byte{"ca.crt": ca.CertPEM(), "tls.crt": ssoCert, "tls.key": ssoKey, "client": []byte(client.Secret),
		"ldap": []byte(want.LDAP.BindPassword), "oidc.json": oidcConfig, "config.yaml": config} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ldapDir := t.TempDir()
	os.Chmod(ldapDir, 0o755)
	for name, data := range map[string]string{apps.DockerSecretName(App, "admin-password"): ldapAdmin, apps.DockerSecretName(App, "config-password"): ldapConfig} {
		if err := os.WriteFile(filepath.Join(ldapDir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	prefix := fmt.Sprintf("cs-oidc-%d", os.Getpid()%100000)
	network := prefix + "-net"
	if out, err := sh("docker network create " + network); err != nil {
		t.Fatalf("network: %v %s", err, out)
	}
	t.Cleanup(func() { local.Run(context.Background(), "docker network rm "+network, host.RunOpts{}) })
	run := func(name, args string) {
		t.Helper()
		t.Cleanup(func() { local.Run(context.Background(), "docker rm -f -v "+prefix+"-"+name, host.RunOpts{}) })
		if out, err := sh("docker run -d --name " + prefix + "-" + name + " --network " + network + " " + args); err != nil {
			t.Fatalf("run %s: %v %s", name, err, out)
		}
	}
	logs := func(name string) string {
		out, _ := sh("docker logs --tail 40 " + prefix + "-" + name + " 2>&1")
		return out
	}
	stopped := func(name string) (bool, string) {
		out, err := sh("docker inspect -f '{{.State.Running}}' " + prefix + "-" + name)
		return err != nil || out != "true", logs(name)
	}
	ip := func(name string) string {
		out, err := sh("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' " + prefix + "-" + name)
		if err != nil || out == "" {
			t.Fatalf("address of %s: %q %v", name, out, err)
		}
		return out
	}

	// The directory as its stack runs it (as TestDirectoryUsersAndRADIUSLive
	// starts it), its tree as identity/directory makes it, and a person
	// added as `collabstack users add` adds one.
	run("openldap", "--network-alias "+apps.Hostname(App, App)+" --hostname openldap -v "+ldapDir+":/run/secrets:ro"+
		" -e LDAP_ORGANISATION="+domain+" -e LDAP_DOMAIN="+domain+" -e LDAP_BASE_DN="+BaseDN(domain)+
		" -e LDAP_ADMIN_PASSWORD_FILE=/run/secrets/openldap_admin_password -e LDAP_CONFIG_PASSWORD_FILE=/run/secrets/openldap_config_password"+
		" -e LDAP_TLS=false -e LDAP_NOFILE=1024 "+ldapApp.Images[App])
	directory := Container{Host: local, ID: prefix + "-openldap"}
	waitUntil(t, ctx, "slapd", func() error {
		_, err := sh("docker exec " + directory.ID + " ldapsearch -Q -Y EXTERNAL -H ldapi:/// -b '' -s base")
		return err
	}, func() (bool, string) { return stopped("openldap") })
	var readers []reader
	for _, r := range Readers(cat, selected) {
		pw, _ := store.Password(BindSecret(r), apps.SecretLength)
		readers = append(readers, reader{r, pw})
	}
	tree, err := script.Render(DirectoryScript, map[string]any{"Base": BaseDN(domain), "Readers": readers})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := directory.exec(ctx, "MODE=apply\n"+tree, nil); err != nil {
		t.Fatalf("the directory's tree: %v %s", err, out)
	}
	people := Directory{Container: directory, Domain: domain}
	password, err := GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	if err := people.Add(ctx, NewUser{Name: "jane.doe", FullName: "Jane Doe", Email: "jane.doe@" + domain, Password: password}); err != nil {
		t.Fatalf("users add: %v", err)
	}

	// The provider, on 443 under Keycloak's name in the network.
	run("sso", "--network-alias "+ssoHost+" --sysctl net.ipv4.ip_unprivileged_port_start=443 -v "+dir+":/run/secrets:ro"+
		" -e OIDC_CONFIG=/run/secrets/oidc.json collabstack/oidc-provider:test")
	ssoAddr := net.JoinHostPort(ip("sso"), "443")

	// GoToSocial with its stack's environment, the rendered config file
	// at the secret's target; SQLite instead of the site's PostgreSQL,
	// and the test's CA (the provider's certificate is the test's).
	var st struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(stack.Files["stack.yaml"], &st); err != nil {
		t.Fatalf("the rendered stack: %v", err)
	}
	env := st.Services["gotosocial"].Environment
	if env["GTS_HOST"] != gtsHost || env["GTS_PROTOCOL"] != "https" {
		t.Fatalf("the stack's GTS_HOST/GTS_PROTOCOL: %v", env)
	}
	env["GTS_DB_TYPE"] = "sqlite"
	env["GTS_DB_ADDRESS"] = "/gotosocial/storage/sqlite.db"
	env["SSL_CERT_FILE"] = "/run/test/ca.crt"
	var envArgs strings.Builder
	for k, v := range env {
		envArgs.WriteString(" -e " + host.Quote(k+"="+v))
	}

	// The browser resolves the site's names: the app's to the edge, the
	// provider's to its container. Nothing else is reached.
	var edgeAddr string
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM())
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	transport := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			switch addr {
			case gtsHost + ":443":
				return dialer.DialContext(ctx, network, edgeAddr)
			case ssoHost + ":443":
				return dialer.DialContext(ctx, network, ssoAddr)
			}
			return nil, fmt.Errorf("the test's browser reaches only %s and %s, not %s", gtsHost, ssoHost, addr)
		},
	}
	t.Cleanup(transport.CloseIdleConnections)
	newBrowser := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Transport: transport, Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	discovery := issuer + "/.well-known/openid-configuration"
	waitUntil(t, ctx, "the provider's discovery", func() error {
		res, err := newBrowser().Get(discovery)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(body), `"issuer":"`+issuer+`"`) {
			return fmt.Errorf("%d %s", res.StatusCode, body)
		}
		return nil
	}, func() (bool, string) { return stopped("sso") })

	run("gotosocial", "-v "+dir+"/config.yaml:/run/secrets/config.yaml:ro -v "+dir+"/ca.crt:/run/test/ca.crt:ro"+envArgs.String()+" "+gts.Images["gotosocial"])
	gtsURL := &url.URL{Scheme: "http", Host: net.JoinHostPort(ip("gotosocial"), "8080")}

	// The edge: TLS for the app's name, then HTTP to the app, as the
	// site's nginx (snippets/collabstack-proxy.inc) forwards it.
	gtsCert, gtsKey := leaf(gtsHost)
	pair, err := tls.X509KeyPair(gtsCert, gtsKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	edgeAddr = ln.Addr().String()
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(gtsURL)
		r.Out.Host = r.In.Host
		r.SetXForwarded()
	}, ErrorLog: log.New(io.Discard, "", 0)} // 502 while GoToSocial starts
	edge := &http.Server{Handler: proxy}
	go edge.Serve(ln)
	t.Cleanup(func() { edge.Close() })
	app := "https://" + gtsHost
	waitUntil(t, ctx, "GoToSocial", func() error {
		res, err := newBrowser().Get(app + "/api/v1/instance")
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}, func() (bool, string) { return stopped("gotosocial") })
	if banner, _ := sh("docker logs " + prefix + "-gotosocial 2>&1 | head -5; docker logs " + prefix + "-sso 2>&1 | head -5"); !strings.Contains(banner, "NOT superseriousbusiness/gotosocial") || !strings.Contains(banner, "NOT Keycloak") {
		t.Error("the stand-ins do not say on start what they are")
	}

	// An API client of GoToSocial's (as a Mastodon app registers one).
	var reg struct{ ClientID, ClientSecret string }
	{
		res, err := newBrowser().PostForm(app+"/api/v1/apps", url.Values{"client_name": {"collabstack test"},
			"redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}, "scopes": {"read"}})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		reg.ClientID, _ = m["client_id"].(string)
		reg.ClientSecret, _ = m["client_secret"].(string)
		if res.StatusCode != 200 || reg.ClientID == "" {
			t.Fatalf("register an app: %d %v", res.StatusCode, m)
		}
	}
	authorize := app + "/oauth/authorize?" + url.Values{"client_id": {reg.ClientID}, "redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"},
		"response_type": {"code"}, "scope": {"read"}}.Encode()

	// login runs the browser from the app's authorize page to the
	// provider's login form and submits it; it returns the last response
	// (the provider's page on a refusal, else the app's page after the
	// callback) and the URLs it went through.
	login := func(b *http.Client, user, pass string) (*page, []string) {
		t.Helper()
		p, trail := follow(t, b, "GET", authorize, nil)
		form := regexp.MustCompile(`<form id="kc-form-login" method="post" action="([^"]+)"`).FindStringSubmatch(p.body)
		if form == nil {
			t.Fatalf("no login form at %s (after %v):\n%s", p.url, trail, p.body)
		}
		var sawAuth bool
		for _, u := range trail {
			if strings.HasPrefix(u, issuer+"/protocol/openid-connect/auth?") {
				q, _ := url.Parse(u)
				sawAuth = q.Query().Get("client_id") == client.ClientID &&
					q.Query().Get("redirect_uri") == app+"/auth/callback" && q.Query().Get("response_type") == "code"
			}
		}
		if !sawAuth {
			t.Fatalf("GoToSocial did not send the browser to the realm's authorization endpoint with client %s and its callback: %v", client.ClientID, trail)
		}
		action, _ := p.url.Parse(html.UnescapeString(form[1]))
		q, more := follow(t, b, "POST", action.String(), url.Values{"username": {user}, "password": {pass}})
		return q, append(trail, more...)
	}

	// Without a session: the app sends the browser to the provider, which
	// refuses a wrong password (and the app never sees a callback).
	b := newBrowser()
	p, trail := login(b, "jane.doe", "wrong password")
	if p.status != 200 || !strings.Contains(p.body, "Invalid username or password.") || !strings.HasPrefix(p.url.String(), issuer+"/") {
		t.Fatalf("a wrong password: %d at %s, want the provider's form again with its error; trail %v\n%s", p.status, p.url, trail, p.body)
	}
	for _, u := range trail {
		if strings.Contains(u, "/auth/callback") {
			t.Fatalf("a wrong password reached the app's callback: %v", trail)
		}
	}

	// The right password: back to the callback, where GoToSocial asks the
	// new person for an account name (the directory's jane.doe has a dot,
	// which its names may not).
	p, trail = login(newBrowser(), "jane.doe", password)
	b = p.browser
	var pages []string // without their queries: codes and states stay out of the log
	for _, u := range trail {
		pages = append(pages, strings.SplitN(u, "?", 2)[0])
	}
	t.Logf("the login went through %s", strings.Join(pages, " → "))
	if !strings.Contains(strings.Join(trail, " "), app+"/auth/callback?") || !strings.Contains(p.body, `action="/oauth/finalize"`) {
		t.Fatalf("after the login: %d at %s, want GoToSocial's finalize page; trail %v\n%s\nlogs:\n%s", p.status, p.url, trail, p.body, logs("gotosocial"))
	}
	p, trail = follow(t, b, "POST", app+"/oauth/finalize", url.Values{"username": {"jane_doe"}, "name": {"Jane Doe"}})
	if !strings.Contains(p.body, "Hi <b>jane_doe</b>!") {
		t.Fatalf("after finalize: %d at %s, want GoToSocial's authorize page for jane_doe; trail %v\n%s\nlogs:\n%s", p.status, p.url, trail, p.body, logs("gotosocial"))
	}
	code := authorizeAndCode(t, b, app)
	token := exchange(t, b, app, reg.ClientID, reg.ClientSecret, code)
	who := verify(t, b, app, token)
	if who["username"] != "jane_doe" {
		t.Errorf("the token's account: %v, want jane_doe", who)
	}
	t.Logf("GoToSocial's API token belongs to @%v (account %v)", who["username"], who["id"])

	// A second login (another browser) finds the same account, by the
	// provider's subject: no finalize page this time.
	p, trail = login(newBrowser(), "jane.doe", password)
	if !strings.Contains(p.body, "Hi <b>jane_doe</b>!") {
		t.Fatalf("a second login: %d at %s, want GoToSocial's authorize page for jane_doe; trail %v\n%s", p.status, p.url, trail, p.body)
	}
	if who := verify(t, p.browser, app, exchange(t, p.browser, app, reg.ClientID, reg.ClientSecret, authorizeAndCode(t, p.browser, app))); who["id"] == "" || who["username"] != "jane_doe" {
		t.Errorf("the second login's account: %v", who)
	}

	// The e-mail address works as the login name too (the federation
	// finds people by uid or mail), and `users disable` refuses the login.
	if p, trail := login(newBrowser(), "jane.doe@"+domain, password); !strings.Contains(p.body, "Hi <b>jane_doe</b>!") {
		t.Errorf("a login by e-mail address: %d at %s; trail %v\n%s", p.status, p.url, trail, p.body)
	}
	if err := people.SetDisabled(ctx, "jane.doe", true); err != nil {
		t.Fatalf("users disable: %v", err)
	}
	if p, trail := login(newBrowser(), "jane.doe", password); !strings.Contains(p.body, "Invalid username or password.") {
		t.Errorf("a login after users disable: %d at %s, want the provider's refusal; trail %v\n%s", p.status, p.url, trail, p.body)
	}
}

// page is the last response of a browser's walk.
type page struct {
	status  int
	url     *url.URL
	body    string
	browser *http.Client
}

// follow sends a request and follows redirects as a browser does (a 303,
// or a 302 after a POST, becomes a GET), recording every URL; it stops at
// a redirect to a URN (GoToSocial's out-of-band redirect) or a page.
func follow(t *testing.T, b *http.Client, method, u string, form url.Values) (*page, []string) {
	t.Helper()
	var trail []string
	for i := 0; i < 20; i++ {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, u, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		trail = append(trail, method+" "+u)
		res, err := b.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v (trail %v)", method, u, err, trail)
		}
		data, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		loc := res.Header.Get("Location")
		if res.StatusCode < 300 || res.StatusCode > 399 || loc == "" {
			for i := range trail {
				trail[i] = strings.TrimPrefix(strings.TrimPrefix(trail[i], "GET "), "POST ")
			}
			return &page{status: res.StatusCode, url: req.URL, body: string(data), browser: b}, trail
		}
		next, err := req.URL.Parse(loc)
		if err != nil {
			t.Fatalf("redirect %q: %v", loc, err)
		}
		if next.Scheme == "urn" {
			trail = append(trail, next.String())
			return &page{status: res.StatusCode, url: next, browser: b}, trail
		}
		u, method, form = next.String(), "GET", nil
	}
	t.Fatalf("more than 20 redirects: %v", trail)
	return nil, nil
}

// authorizeAndCode allows the API client on GoToSocial's authorize page
// and returns the authorization code from the out-of-band page.
func authorizeAndCode(t *testing.T, b *http.Client, app string) string {
	t.Helper()
	p, trail := follow(t, b, "POST", app+"/oauth/authorize", url.Values{})
	m := regexp.MustCompile(`<code>([A-Za-z0-9_-]{16,})</code>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no code after allowing: %d at %s; trail %v\n%s", p.status, p.url, trail, p.body)
	}
	return m[1]
}

func exchange(t *testing.T, b *http.Client, app, id, secret, code string) string {
	t.Helper()
	res, err := b.PostForm(app+"/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"client_id": {id}, "client_secret": {secret}, "redirect_uri": {"urn:ietf:wg:oauth:2.0:oob"}, "scope": {"read"}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	tok, _ := m["access_token"].(string)
	if res.StatusCode != 200 || tok == "" {
		t.Fatalf("token: %d %v", res.StatusCode, m)
	}
	return tok
}

func verify(t *testing.T, b *http.Client, app, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", app+"/api/v1/accounts/verify_credentials", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	if res.StatusCode != 200 {
		t.Fatalf("verify_credentials: %d %v", res.StatusCode, m)
	}
	return m
}

// waitUntil retries check until it passes; it fails the test when the
// container has stopped, or when the test's context ends (no timed
// assertion: the deadline is the whole test's).
func waitUntil(t *testing.T, ctx context.Context, what string, check func() error, stopped func() (bool, string)) {
	t.Helper()
	for {
		err := check()
		if err == nil {
			return
		}
		if gone, logs := stopped(); gone {
			t.Fatalf("%s stopped: %v\n%s", what, err, logs)
		}
		select {
		case <-ctx.Done():
			_, logs := stopped()
			t.Fatalf("%s never answered: %v\n%s", what, err, logs)
		case <-time.After(2 * time.Second):
		}
	}
}
