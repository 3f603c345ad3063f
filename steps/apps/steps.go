package apps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/health"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// Step IDs of an app.
func SecretsID(app string) string    { return "apps/" + app + "/secrets" }
func DatabaseID(app string) string   { return "apps/" + app + "/database" }
func DeployID(app string) string     { return "apps/" + app + "/deploy" }
func HookID(app, hook string) string { return "apps/" + app + "/hook/" + hook }

// secretSource gives templates the site's generated secrets.
func secretSource(env *engine.Env) func(string) (string, error) {
	return func(name string) (string, error) { return env.Secrets.Password(name, SecretLength) }
}

// TLSID is the step that puts the edge's first certificate on the manager.
const TLSID = "apps/" + EdgeName + "/tls"

// TLSDir holds the edge's certificate on the manager.
const TLSDir = layout.Root + "/tls/edge"

// ReadyTimeout bounds the wait for a service's container to answer
// before a database or hook step runs in it.
const ReadyTimeout = 10 * time.Minute

// Steps returns the steps that deploy the site's chosen apps (and what
// they require) on the swarm whose manager is named: per app its swarm
// secrets, its database on the shared engine, its stack and its hooks;
// and the edge with its certificate. Every deploy also comes after
// deployAfter (the lab's stand-in images, say).
func (c *Catalog) Steps(s *site.Site, manager string, deployAfter ...string) ([]engine.Step, error) {
	selected, err := c.Selected(s)
	if err != nil {
		return nil, err
	}
	// Options are checked now, so a typo stops the plan, not the run.
	for _, name := range selected {
		if _, err := c.apps[name].ParseOptions(s.Components[name].Options); err != nil {
			return nil, err
		}
	}
	// An app that publishes ports where the site's names point runs on
	// the manager: its placement must be the manager's label.
	for _, h := range s.Hosts {
		mgrLabel, ok := h.Labels[site.NodeLabel]
		if h.Role != site.RoleManager || !ok {
			continue
		}
		for _, name := range selected {
			a := c.apps[name]
			if p := c.placement(name, InputFor(s, selected, nil)); a.OnEdgeNode() && p != mgrLabel {
				return nil, fmt.Errorf("components.%s.placement: %s publishes its ports on the edge's node, the manager %s (label %s=%s), not on nodes labelled %s: leave its placement at %s",
					name, a.Title, h.Name, site.NodeLabel, mgrLabel, p, mgrLabel)
			}
		}
	}
	var steps []engine.Step
	for _, name := range selected {
		a := c.apps[name]
		needs := append([]string{swarm.ReadyID}, deployAfter...)
		for _, r := range a.Requires {
			needs = append(needs, DeployID(r))
		}
		if len(a.Secrets) > 0 {
			steps = append(steps, c.secretsStep(a, manager))
			needs = append(needs, SecretsID(name))
		}
		if a.Database != nil {
			steps = append(steps, c.databaseStep(a, manager, len(a.Secrets) > 0))
			needs = append(needs, DatabaseID(name))
		}
		if a.Kind == KindEdge {
			steps = append(steps, c.tlsStep(s, manager))
			needs = append(needs, TLSID)
		}
		in := func(env *engine.Env) RenderInput { return InputFor(s, selected, secretSource(env)) }
		if a.Web {
			// Its probe goes through the edge.
			needs = append(needs, DeployID(EdgeName))
		}
		steps = append(steps, swarm.DeployStep(DeployID(name), "Deploy "+a.Title, manager, name, needs,
			func(_ context.Context, env *engine.Env) (swarm.Stack, error) { return c.Render(name, in(env)) },
			swarm.Within(a.StartTimeout()),
			swarm.Probes(func(_ context.Context, env *engine.Env) ([]health.Probe, error) { return c.Probes(name, in(env)), nil })))
		if a.Kind == KindEdge {
			// Let's Encrypt (or another ACME CA) once the edge answers
			// HTTP-01; nothing for a self-signed site.
			steps = append(steps, acme.Steps(s, manager, acme.Cert{Name: EdgeName, Domains: c.EdgeDomains(s, selected), Dir: TLSDir, Service: ServiceName(EdgeName, a.Service)}, DeployID(name))...)
		}
		prev := DeployID(name)
		for _, h := range a.Hooks {
			steps = append(steps, c.hookStep(a, h, manager, prev, in))
			prev = HookID(name, h.Name)
		}
	}
	return steps, nil
}

func (c *Catalog) secretsStep(a *App, manager string) engine.Step {
	return swarm.SecretsStep(SecretsID(a.Name), "Create the swarm secrets of "+a.Title, manager, a.Name, []string{swarm.InitID},
		func(_ context.Context, env *engine.Env) ([]swarm.Secret, error) {
			return AppSecrets(a, env.Secrets.Password)
		})
}

// AppSecrets are an app's swarm secrets with their values from password
// (the secrets file): the ones not in its rotate list are fixed.
func AppSecrets(a *App, password func(name string, n int) (string, error)) ([]swarm.Secret, error) {
	var out []swarm.Secret
	for _, s := range a.Secrets {
		v, err := password(SecretName(a.Name, s), SecretLength)
		if err != nil {
			return nil, err
		}
		out = append(out, swarm.Secret{Base: DockerSecretName(a.Name, s), Value: []byte(v), Source: SecretName(a.Name, s),
			Fixed: !contains(a.Rotate, s), Why: a.Title + " keeps the value it started with in its own data"})
	}
	return out, nil
}

// databaseMarkers is the folder on the manager of the files that hold
// the version of the password each app's database user was last given
// (a test points it elsewhere).
var databaseMarkers = layout.HostPath("databases")

// DatabaseMarker is the file on the manager that holds the version of
// the password an app's database user was last given.
func DatabaseMarker(app string) string { return databaseMarkers + "/" + app + ".password-version" }

// databaseStep creates an app's database and user, and sets the user's
// password again when it changed; after the app's secrets step when it
// has one (afterSecrets), so a refused change of a fixed db-password
// never reaches the database either.
func (c *Catalog) databaseStep(a *App, manager string, afterSecrets bool) engine.Step {
	eng := c.apps[a.Database.Engine]
	svc := ServiceName(eng.Name, eng.Service)
	sqlFor := func(env *engine.Env) (create, check []byte, err error) {
		pw, err := env.Secrets.Password(SecretName(a.Name, "db-password"), SecretLength)
		if err != nil {
			return nil, nil, err
		}
		return c.DatabaseSQL(a.Name, pw)
	}
	// The version of the password the user was last given (an HMAC
	// under the site's key, not a hash of it), kept on the manager: a
	// password changed in the secrets file runs the create SQL again,
	// which sets it, before the app deploys with it.
	marker := DatabaseMarker(a.Name)
	needs := []string{DeployID(eng.Name)}
	if afterSecrets {
		needs = append(needs, SecretsID(a.Name))
	}
	version := func(env *engine.Env) (string, error) {
		pw, err := env.Secrets.Password(SecretName(a.Name, "db-password"), SecretLength)
		if err != nil {
			return "", err
		}
		key, err := swarm.VersionKey(env)
		if err != nil {
			return "", err
		}
		return swarm.Version(key, SecretName(a.Name, "db-password"), []byte(pw)) + "\n", nil
	}
	return &engine.Func{
		StepID: DatabaseID(a.Name), Name: fmt.Sprintf("Create the database and user of %s on %s", a.Title, eng.Title), On: manager, Comp: a.Name,
		Needs: needs,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			_, check, err := sqlFor(env)
			if err != nil {
				return false, err
			}
			h, id, err := findContainer(ctx, env, svc)
			if err != nil || id == "" {
				return false, err
			}
			out, err := execIn(ctx, h, id, eng.Provides.Exec, check, nil)
			if err != nil || strings.TrimSpace(out) != "present" {
				return false, nil
			}
			want, err := version(env)
			if err != nil {
				return false, err
			}
			have, err := env.Host.ReadFile(ctx, marker)
			if err == nil && string(have) != want && !contains(a.Rotate, "db-password") {
				// The app keeps the password it was installed with in its
				// own data (HumHub writes it once into its config): a new
				// one on the database user would lock it out.
				return false, engine.WithHint(fmt.Errorf("the database password of %s (%s in the secrets file) changed, but %s keeps the one it was installed with in its own data: nothing was changed",
					a.Title, SecretName(a.Name, "db-password"), a.Title),
					"put the previous value back in the secrets file (a backup of it has it), or change the password in %s's own settings and the database first, then in the secrets file (docs/user-guide.md, Changing a secret)", a.Title)
			}
			return err == nil && string(have) == want, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			create, _, err := sqlFor(env)
			if err != nil {
				return err
			}
			h, id, err := waitReady(ctx, env, svc, eng.Provides.Ready)
			if err != nil {
				return err
			}
			if _, err := execIn(ctx, h, id, eng.Provides.Exec, create, env.Out); err != nil {
				return engine.WithHint(fmt.Errorf("create the database %s on %s: %w", a.Database.Name, eng.Title, err), "`docker service logs %s` shows what the server said", svc)
			}
			v, err := version(env)
			if err != nil {
				return err
			}
			return env.Host.Upload(ctx, marker, []byte(v), 0o600, "root")
		},
	}
}

func (c *Catalog) hookStep(a *App, h Hook, manager, after string, in func(*engine.Env) RenderInput) engine.Step {
	svc := ServiceName(a.Name, h.Service)
	scripts := func(env *engine.Env) (script, check []byte, err error) {
		return c.renderHook(a.Name, h, in(env))
	}
	shell := []string{"sh", "-s"}
	return &engine.Func{
		StepID: HookID(a.Name, h.Name), Name: h.Title, On: manager, Comp: a.Name, Needs: []string{after},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			_, check, err := scripts(env)
			if err != nil {
				return false, err
			}
			hh, id, err := findContainer(ctx, env, svc)
			if err != nil || id == "" {
				return false, err
			}
			_, err = execIn(ctx, hh, id, shell, check, nil)
			return err == nil, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			script, _, err := scripts(env)
			if err != nil {
				return err
			}
			hh, id, err := waitReady(ctx, env, svc, nil)
			if err != nil {
				return err
			}
			if _, err := execIn(ctx, hh, id, shell, script, env.Out); err != nil {
				return engine.WithHint(fmt.Errorf("%s: %w", h.Title, err), "`docker service logs %s` shows what the app said; the step runs again on the next apply", svc)
			}
			return nil
		},
	}
}

func (c *Catalog) tlsStep(s *site.Site, manager string) engine.Step {
	names := []string{s.Domain, "*." + s.Domain}
	return &engine.Func{
		StepID: TLSID, Name: "Install the edge's first TLS certificate for " + s.Domain + " and *." + s.Domain, On: manager, Comp: EdgeName,
		Needs: []string{swarm.InitID},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			if _, err := env.Host.ReadFile(ctx, acme.Webroot+"/.collabstack"); err != nil {
				return false, nil
			}
			cert, err := env.Host.ReadFile(ctx, TLSDir+"/fullchain.pem")
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			if s.TLS.ACMEDirectory() != "" {
				// The ACME steps own the certificate from here on.
				return true, nil
			}
			// Signed by the site's CA as it is now: a rotated CA
			// re-issues the edge's certificate.
			ca, err := pki.Load(env.Secrets, s.Name, pki.ScopeOf(s))
			if err != nil {
				return false, err
			}
			return ca.Valid(cert, names...), nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			// The webroot the edge serves HTTP-01 challenges from.
			if err := env.Host.Upload(ctx, acme.Webroot+"/.collabstack", []byte("HTTP-01 challenges of the edge\n"), 0o644, "root"); err != nil {
				return err
			}
			// Self-signed: the site's certificate. With an ACME CA: the
			// placeholder nginx starts on until the ACME steps replace it.
			if s.TLS.ACMEDirectory() != "" {
				if _, err := env.Host.ReadFile(ctx, TLSDir+"/fullchain.pem"); err == nil {
					return nil
				}
			}
			// From the site's own CA: trust it once (site-ca.pem in the
			// state directory) instead of every certificate.
			ca, err := pki.Load(env.Secrets, s.Name, pki.ScopeOf(s))
			if err != nil {
				return err
			}
			cert, key, err := ca.Issue(names...)
			if err != nil {
				return err
			}
			if err := env.Host.Upload(ctx, TLSDir+"/privkey.pem", key, 0o600, "root"); err != nil {
				return err
			}
			if err := env.Host.Upload(ctx, TLSDir+"/fullchain.pem", append(cert, ca.CertPEM()...), 0o644, "root"); err != nil {
				return err
			}
			// A running edge (a re-issue after `collabstack ca rotate`)
			// reads its certificate at start only.
			svc := EdgeName + "_nginx"
			if out, err := env.Host.Run(ctx, "docker service inspect --format ok "+svc, host.RunOpts{Sudo: true}); err == nil && strings.TrimSpace(out) == "ok" {
				_, err = env.Sudo(ctx, "docker service update --force --detach "+svc)
				return err
			}
			return nil
		},
	}
}

// EdgeDomains are the names the edge's certificate must cover: the domain
// and every chosen web app's (HTTP-01 cannot prove a wildcard).
func (c *Catalog) EdgeDomains(s *site.Site, selected []string) []string {
	out := []string{s.Domain}
	for _, n := range selected {
		if h := c.Host(n, s.Domain); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// findContainer finds a running container of a swarm service: on the
// manager first, else on the node the swarm says runs it (a site host of
// that name). It returns no ID while there is none.
func findContainer(ctx context.Context, env *engine.Env, service string) (host.Host, string, error) {
	q := "docker ps -q --filter status=running --filter " + host.Quote("label=com.docker.swarm.service.name="+service)
	out, err := env.Host.Run(ctx, q, host.RunOpts{Sudo: true})
	if err != nil {
		return nil, "", fmt.Errorf("list the containers of %s: %w", service, err)
	}
	if f := strings.Fields(out); len(f) > 0 {
		return env.Host, f[0], nil
	}
	nodes, err := env.Host.Run(ctx, "docker service ps --filter desired-state=running --format '{{.Node}}' "+host.Quote(service), host.RunOpts{Sudo: true})
	if err != nil {
		return nil, "", nil // not deployed yet
	}
	for _, node := range strings.Fields(nodes) {
		if node == env.Host.Name() {
			continue
		}
		if _, ok := env.Hosts.Spec(node); !ok {
			continue
		}
		h, err := env.Hosts.Get(ctx, node)
		if err != nil {
			return nil, "", err
		}
		out, err := h.Run(ctx, q, host.RunOpts{Sudo: true})
		if err == nil && len(strings.Fields(out)) > 0 {
			return h, strings.Fields(out)[0], nil
		}
	}
	return nil, "", nil
}

// waitReady waits until a container of service runs and ready (a command
// run in it) exits 0.
func waitReady(ctx context.Context, env *engine.Env, service string, ready []string) (host.Host, string, error) {
	ctx2, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	said := false
	for {
		h, id, err := findContainer(ctx2, env, service)
		if err == nil && id != "" {
			if len(ready) == 0 {
				return h, id, nil
			}
			if _, err = execIn(ctx2, h, id, ready, nil, nil); err == nil {
				return h, id, nil
			}
		}
		if !said {
			env.Logf("waiting for %s to run and answer", service)
			said = true
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-ctx2.Done():
			return nil, "", engine.WithHint(fmt.Errorf("%s did not answer within %s", service, ReadyTimeout),
				"`docker service ps %s --no-trunc` says where its task is and why it is not running", service)
		case <-time.After(3 * time.Second):
		}
	}
}

// execIn runs args in a container with stdin (SQL, a script: secrets go
// there, never on the command line).
func execIn(ctx context.Context, h host.Host, id string, args []string, stdin []byte, out func(string)) (string, error) {
	cmd := []string{"docker", "exec", "-i", host.Quote(id)}
	for _, a := range args {
		cmd = append(cmd, host.Quote(a))
	}
	return h.Run(ctx, strings.Join(cmd, " "), host.RunOpts{Sudo: true, Stdin: stdin, Output: out})
}

// ImageRefs lists the images the site's chosen apps run, for the lab's
// stand-ins or an offline bundle.
func (c *Catalog) ImageRefs(s *site.Site) ([]string, error) {
	selected, err := c.Selected(s)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var refs []string
	for _, n := range selected {
		for _, svc := range sortedKeys(c.apps[n].Images) {
			img := c.apps[n].Images[svc]
			if !seen[img] {
				seen[img] = true
				refs = append(refs, img)
			}
		}
	}
	return refs, nil
}

// Deployed reports which catalog apps have a stack on the swarm whose
// manager is h (for `collabstack apps`).
func (c *Catalog) Deployed(ctx context.Context, h host.Host) (map[string]bool, error) {
	out, err := h.Run(ctx, "docker stack ls --format '{{.Name}}'", host.RunOpts{Sudo: true})
	if err != nil {
		return nil, engine.WithHint(fmt.Errorf("list the stacks on %s: %w", h.Name(), err), "check that %s is the swarm's manager and Docker runs there", h.Name())
	}
	have := map[string]bool{}
	for _, n := range strings.Fields(out) {
		if c.Has(n) {
			have[n] = true
		}
	}
	return have, nil
}

// renderHook renders a hook's script and check for a site.
func (c *Catalog) renderHook(app string, h Hook, input RenderInput) (script, check []byte, err error) {
	d, err := c.data(app, input)
	if err != nil {
		return nil, nil, err
	}
	funcs := c.funcs(app, input)
	for _, f := range []struct {
		file string
		out  *[]byte
	}{{h.Script, &script}, {h.Check, &check}} {
		t, err := c.parse(app, f.file, funcs)
		if err != nil {
			return nil, nil, err
		}
		if *f.out, err = execute(t, f.file, d); err != nil {
			return nil, nil, err
		}
	}
	return script, check, nil
}

// RenderHooks renders an app's hook scripts and checks for a site, by
// their template's path without .tmpl (hooks/admin.sh).
func (c *Catalog) RenderHooks(app string, in RenderInput) (map[string][]byte, error) {
	a, ok := c.apps[app]
	if !ok {
		return nil, fmt.Errorf("%q is not in the app catalog", app)
	}
	out := map[string][]byte{}
	for _, h := range a.Hooks {
		script, check, err := c.renderHook(app, h, in)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(h.Script, ".tmpl")] = script
		out[strings.TrimSuffix(h.Check, ".tmpl")] = check
	}
	return out, nil
}
