package kopnik

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// Step IDs.
const (
	SourcesID = "kopnik/sources"
	BuildID   = "kopnik/client-build"
	TLSID     = "kopnik/tls"
	SecretID  = "kopnik/db-secret"
	DeployID  = "kopnik/deploy"
)

// DBPasswordSecret is the secrets-file name of the database password.
const DBPasswordSecret = "kopnik-db-password"

// ImageRefs lists the images the kopnik stack runs.
func ImageRefs(s *site.Site) ([]string, error) {
	o, err := ParseOptions(s.Components[Component].Options)
	if err != nil {
		return nil, err
	}
	refs := []string{o.NodeImage}
	for _, k := range []string{"postgres", "smtp", "crossbar", "nginx", "visualizer"} {
		refs = append(refs, Images[k])
	}
	return refs, nil
}

// Steps returns the kopnik steps on the site's manager; the deploy also
// comes after deployAfter (the lab's image step, say).
func Steps(s *site.Site, hosts []site.Host, deployAfter ...string) ([]engine.Step, error) {
	o, err := ParseOptions(s.Components[Component].Options)
	if err != nil {
		return nil, err
	}
	mgr, _, err := swarm.Members(hosts)
	if err != nil {
		return nil, err
	}
	p := pathsOf(s)
	m := mgr.Name
	f := func(id, title string, needs []string, check func(context.Context, *engine.Env) (bool, error), apply func(context.Context, *engine.Env) error) engine.Step {
		return &engine.Func{StepID: id, Name: title, On: m, Comp: Component, Needs: needs, CheckFunc: check, ApplyFunc: apply}
	}
	srv := checkout{repo: o.ServerRepo, ref: o.ServerRef, dir: p.ServerDir, what: "kp-server"}
	cli := checkout{repo: o.ClientRepo, ref: o.ClientRef, dir: p.ClientDir, what: "kp-client"}
	steps := []engine.Step{
		f(SourcesID, "Fetch the kp-server and kp-client sources on "+m, []string{prepare.ID("sftp", m), prepare.ID("packages", m)},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				a, err := srv.done(ctx, env.Host)
				if err != nil || !a {
					return false, err
				}
				return cli.done(ctx, env.Host)
			},
			func(ctx context.Context, env *engine.Env) error {
				if err := srv.apply(ctx, env); err != nil {
					return err
				}
				return cli.apply(ctx, env)
			}),
		f(BuildID, "Build kp-client (npm install, npm run build) on "+m, []string{SourcesID, prepare.ID("node", m)},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				head, err := env.Host.Run(ctx, "git -C "+host.Quote(p.ClientDir)+" rev-parse HEAD", host.RunOpts{Sudo: true})
				if err != nil {
					return false, nil
				}
				built, err := env.Host.ReadFile(ctx, p.ClientDir+"/dist/.collabstack-built")
				if errors.Is(err, fs.ErrNotExist) {
					return false, nil
				}
				return err == nil && strings.TrimSpace(string(built)) == strings.TrimSpace(head), err
			},
			func(ctx context.Context, env *engine.Env) error {
				dir := host.Quote(p.ClientDir)
				if _, err := env.Sudo(ctx, "cd "+dir+" && npm install --no-audit --no-fund && npm run build"); err != nil {
					return engine.WithHint(fmt.Errorf("build kp-client: %w", err), "the npm output above says why; the client's code is in %s on %s", p.ClientDir, m)
				}
				_, err := env.Sudo(ctx, "cd "+dir+" && test -f dist/index.html && git rev-parse HEAD > dist/.collabstack-built")
				if err != nil {
					return fmt.Errorf("kp-client's build made no dist/index.html: %w", err)
				}
				return nil
			}),
		f(TLSID, "Install the TLS certificate for "+s.Domain+" on "+m, []string{prepare.ReachID(m)},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				cert, err := env.Host.ReadFile(ctx, p.TLSDir+"/fullchain.pem")
				if errors.Is(err, fs.ErrNotExist) {
					return false, nil
				}
				return err == nil && pki.Covers(cert, s.Domain), err
			},
			func(ctx context.Context, env *engine.Env) error {
				// With Let's Encrypt this is the placeholder nginx starts
				// on; the tls steps replace it once nginx answers HTTP-01.
				ca, err := pki.Load(env.Secrets, s.Name)
				if err != nil {
					return err
				}
				cert, key, err := ca.Issue(s.Domain, "www."+s.Domain)
				if err != nil {
					return err
				}
				cert = append(cert, ca.CertPEM()...)
				if _, err := env.Sudo(ctx, "mkdir -p "+host.Quote(acme.Webroot)); err != nil {
					return err
				}
				if err := env.Host.Upload(ctx, p.TLSDir+"/privkey.pem", key, 0o600, "root"); err != nil {
					return err
				}
				return env.Host.Upload(ctx, p.TLSDir+"/fullchain.pem", cert, 0o644, "root")
			}),
		f(SecretID, "Create the database password as a swarm secret", []string{swarm.InitID},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				_, err := env.Host.Run(ctx, "docker secret inspect --format ok kopnik_db_password", host.RunOpts{Sudo: true})
				return err == nil, nil
			},
			func(ctx context.Context, env *engine.Env) error {
				pw, err := env.Secrets.Password(DBPasswordSecret, 32)
				if err != nil {
					return err
				}
				_, err = env.Host.Run(ctx, "docker secret create kopnik_db_password -", host.RunOpts{Sudo: true, Stdin: []byte(pw), Output: env.Out})
				return err
			}),
		swarm.DeployStep(DeployID, "Deploy the kopnik stack", m, Component, append([]string{swarm.ReadyID, BuildID, TLSID, SecretID}, deployAfter...),
			func(context.Context, *engine.Env) (swarm.Stack, error) { return Render(s, o) }),
	}
	steps = append(steps, acme.Steps(s, m, acme.Cert{Name: Component, Domains: []string{s.Domain}, Dir: p.TLSDir, Service: Component + "_nginx"}, DeployID)...)
	return steps, nil
}

// checkout is one source tree on the host.
type checkout struct {
	repo, ref, dir, what string
}

func (c checkout) local() bool {
	return strings.HasPrefix(c.repo, "/") || strings.HasPrefix(c.repo, "./") || strings.HasPrefix(c.repo, "file://")
}

// want is the commit the host should have: known here for a local
// repository; for a remote one, any checkout of it counts as done (a
// re-run does not chase a moving branch).
func (c checkout) want() (string, error) {
	if !c.local() {
		return "", nil
	}
	out, err := exec.Command("git", "-C", strings.TrimPrefix(c.repo, "file://"), "rev-parse", c.ref+"^{commit}").Output()
	if err != nil {
		return "", engine.WithHint(fmt.Errorf("%s: %s has no %s: %w", c.what, c.repo, c.ref, err), "check components.kopnik.options")
	}
	return strings.TrimSpace(string(out)), nil
}

func (c checkout) done(ctx context.Context, h host.Host) (bool, error) {
	head, err := h.Run(ctx, "git -C "+host.Quote(c.dir)+" rev-parse HEAD", host.RunOpts{Sudo: true})
	if err != nil {
		return false, nil
	}
	want, err := c.want()
	if err != nil {
		return false, err
	}
	return want == "" || strings.TrimSpace(head) == want, nil
}

func (c checkout) apply(ctx context.Context, env *engine.Env) error {
	src := c.repo
	if c.local() {
		var b bytes.Buffer
		cmd := exec.CommandContext(ctx, "git", "-C", strings.TrimPrefix(c.repo, "file://"), "bundle", "create", "-", c.ref)
		cmd.Stdout = &b
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: bundle %s: %w", c.what, c.repo, err)
		}
		src = "/var/lib/collabstack/src/" + c.what + ".bundle"
		if err := env.Host.Upload(ctx, src, b.Bytes(), 0o600, "root"); err != nil {
			return err
		}
	}
	want, err := c.want()
	if err != nil {
		return err
	}
	target := want
	if target == "" {
		target = "FETCH_HEAD"
	}
	dir := host.Quote(c.dir)
	cmd := "mkdir -p " + dir + " && cd " + dir + " && { [ -d .git ] || git init -q; } && git fetch -q " + host.Quote(src) + " " + host.Quote(c.ref) + " && git checkout -q -f " + host.Quote(target)
	if _, err := env.Sudo(ctx, cmd); err != nil {
		return engine.WithHint(fmt.Errorf("fetch %s from %s: %w", c.what, c.repo, err), "check components.kopnik.options (%s repo and ref) and that the host reaches the repository; without internet access, clone it on this machine and give its path as the repo option: collabstack uploads it", c.what)
	}
	return nil
}
