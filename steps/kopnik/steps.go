package kopnik

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/health"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
	"github.com/collabstack/collabstack/templates"
)

// Step IDs.
const (
	SourcesID       = "kopnik/sources"
	ServerDepsID    = "kopnik/server-deps"
	BuildID         = "kopnik/client-build"
	CrossbarID      = "kopnik/crossbar-image"
	ServerConfigID  = "kopnik/server-config"
	TLSID           = "kopnik/tls"
	SecretID        = "kopnik/db-secret"
	VisualizerPWID  = "kopnik/visualizer-password"
	DeployID        = "kopnik/deploy"
	SchemaID        = "kopnik/schema"
	configLink      = "/run/secrets/kopnik_server_config.json"
	defaultInitPath = "./.collabstack/init-schema.js"
)

// ImageRefs lists the images the kopnik stack runs (the Crossbar image
// is built on the manager from the upstream one listed here).
func ImageRefs(s *site.Site) ([]string, error) {
	o, err := ParseOptions(s.Components[Component].Options)
	if err != nil {
		return nil, err
	}
	refs := []string{o.NodeImage}
	names := []string{"postgres", "smtp", "crossbar", "nginx"}
	if o.Visualizer {
		names = append(names, "visualizer", "socket-proxy")
	}
	for _, k := range names {
		refs = append(refs, Images[k])
	}
	return refs, nil
}

// initCommand is the schema init command in the server container.
func initCommand(o Options) string {
	if o.InitCommand != "" {
		return o.InitCommand
	}
	return "./node_modules/babel-cli/bin/babel-node.js --use-strict " + defaultInitPath
}

// Steps returns the kopnik steps on the site's manager; the steps that
// run containers also come after deployAfter (the lab's image step, say).
func Steps(s *site.Site, hosts []site.Host, deployAfter ...string) ([]engine.Step, error) {
	o, err := ParseOptions(s.Components[Component].Options)
	if err != nil {
		return nil, err
	}
	mgr, _, err := swarm.Members(hosts)
	if err != nil {
		return nil, err
	}
	crossbarTag, err := CrossbarImage()
	if err != nil {
		return nil, err
	}
	p := pathsOf(s)
	m := mgr.Name
	f := func(id, title string, needs []string, check func(context.Context, *engine.Env) (bool, error), apply func(context.Context, *engine.Env) error) engine.Step {
		return &engine.Func{StepID: id, Name: title, On: m, Comp: Component, Needs: needs, CheckFunc: check, ApplyFunc: apply}
	}
	withImages := func(needs ...string) []string { return append(append([]string{}, needs...), deployAfter...) }
	// upload/ and log/ are gitignored: the file server moves uploads into
	// upload/, log4js's dateFile appenders write log/*.log (cfg/log.json).
	srv := checkout{repo: o.ServerRepo, ref: o.ServerRef, dir: p.ServerDir, what: "kp-server", dirs: []string{"upload", "log"}}
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
		script.Step(script.Spec{ID: ServerDepsID, Title: "Install kp-server's dependencies in " + o.NodeImage + " on " + m, Host: m, Component: Component,
			Needs: withImages(SourcesID, prepare.ID("docker", m)), Path: "kopnik/npm.sh",
			Data: script.Fixed(map[string]any{"Dir": p.ServerDir, "Image": o.NodeImage, "NPMVersion": o.NPMVersion, "Command": o.InstallCommand, "UID": fmt.Sprint(NodeUID),
				"What": "kp-server", "PrivateFile": "", "BundleCheck": "no", "Marker": p.ServerDir + "/node_modules/.collabstack-installed"})}),
		script.Step(script.Spec{ID: BuildID, Title: "Build kp-client for " + s.Domain + " in " + o.NodeImage + " on " + m, Host: m, Component: Component,
			Needs: withImages(SourcesID, prepare.ID("docker", m)), Path: "kopnik/npm.sh",
			Data: func(context.Context, *engine.Env) (map[string]any, []byte, error) {
				conf, err := ClientConfig(s)
				if err != nil {
					return nil, nil, err
				}
				return map[string]any{"Dir": p.ClientDir, "Image": o.NodeImage, "NPMVersion": o.NPMVersion, "Command": o.InstallCommand + " && npm run build", "UID": fmt.Sprint(NodeUID),
					"What": "kp-client", "PrivateFile": "cfg/private.js", "BundleCheck": "yes", "Marker": p.ClientDir + "/dist/.collabstack-built"}, bytes.TrimRight(conf, "\n"), nil
			}}),
		script.Step(script.Spec{ID: CrossbarID, Title: "Build the Crossbar image for kp-client's authenticator on " + m, Host: m, Component: Component,
			Needs: withImages(SourcesID, prepare.ID("docker", m)), Path: "kopnik/crossbar-image.sh",
			Data: func(context.Context, *engine.Env) (map[string]any, []byte, error) {
				tarball, err := crossbarTar()
				if err != nil {
					return nil, nil, err
				}
				return map[string]any{"Base": Images["crossbar"], "Tag": crossbarTag, "CrossbarDir": p.ClientDir + "/.crossbar"},
					[]byte(base64.StdEncoding.EncodeToString(tarball)), nil
			}}),
		f(ServerConfigID, "Write kp-server's production config as a swarm secret", []string{SourcesID, swarm.InitID},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				cfg, err := ServerConfig(s, o, env.Secrets)
				if err != nil {
					return false, err
				}
				if _, err := env.Host.Run(ctx, "docker secret inspect --format ok "+host.Quote(cfg.Secret), host.RunOpts{Sudo: true}); err != nil {
					return false, nil
				}
				link, err := env.Host.Run(ctx, "readlink "+host.Quote(p.ServerDir+"/cfg/private.json")+" || true", host.RunOpts{Sudo: true})
				return err == nil && strings.TrimSpace(link) == configLink, err
			},
			func(ctx context.Context, env *engine.Env) error {
				cfg, err := ServerConfig(s, o, env.Secrets)
				if err != nil {
					return err
				}
				if _, err := env.Host.Run(ctx, "docker secret inspect --format ok "+host.Quote(cfg.Secret)+" >/dev/null 2>&1 || docker secret create --label "+host.Quote(swarm.SecretLabel+"="+ServerConfigBase)+" "+host.Quote(cfg.Secret)+" - >/dev/null",
					host.RunOpts{Sudo: true, Stdin: cfg.JSON, Output: env.Out}); err != nil {
					return fmt.Errorf("create the swarm secret %s: %w", cfg.Secret, err)
				}
				// cfg/index.js requires ./private(.json): a link to the
				// secret as the containers see it, so the file on the host
				// holds no password. Node loads a module by the extension
				// of the link's target, hence the secret's ".json".
				cfgDir := host.Quote(p.ServerDir + "/cfg")
				_, err = env.Sudo(ctx, "mkdir -p "+cfgDir+" && ln -sfn "+host.Quote(configLink)+" "+cfgDir+"/private.json")
				return err
			}),
		f(TLSID, "Install the TLS certificate for "+s.Domain+" on "+m, []string{prepare.ID("packages", m)},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				cert, err := env.Host.ReadFile(ctx, p.TLSDir+"/fullchain.pem")
				if errors.Is(err, fs.ErrNotExist) {
					return false, nil
				}
				if err != nil {
					return false, err
				}
				if s.TLS.ACMEDirectory() != "" {
					// Let's Encrypt's steps own the certificate once nginx
					// answers HTTP-01: any certificate for the domain.
					return pki.Covers(cert, s.Domain), nil
				}
				// Signed by the site's CA as it is now (a rotated CA
				// re-issues it) and not due for renewal.
				ca, err := pki.Load(env.Secrets, s.Name, pki.ScopeOf(s))
				if err != nil {
					return false, err
				}
				return ca.Valid(cert, s.Domain, "www."+s.Domain), nil
			},
			func(ctx context.Context, env *engine.Env) error {
				// With Let's Encrypt this is the placeholder nginx starts
				// on; the tls steps replace it once nginx answers HTTP-01.
				ca, err := pki.Load(env.Secrets, s.Name, pki.ScopeOf(s))
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
		swarm.SecretsStep(SecretID, "Create the database password as a swarm secret", m, Component, []string{swarm.InitID},
			func(_ context.Context, env *engine.Env) ([]swarm.Secret, error) {
				db, err := DBSecret(env.Secrets)
				return []swarm.Secret{db}, err
			}),
	}
	deployNeeds := []string{swarm.ReadyID, ServerDepsID, BuildID, CrossbarID, ServerConfigID, TLSID, SecretID}
	if o.Visualizer {
		steps = append(steps, swarm.SecretsStep(VisualizerPWID, "Create the visualizer's password as a swarm secret", m, Component, []string{swarm.InitID},
			func(_ context.Context, env *engine.Env) ([]swarm.Secret, error) {
				v, err := VisualizerSecret(env.Secrets)
				return []swarm.Secret{v}, err
			}))
		deployNeeds = append(deployNeeds, VisualizerPWID)
	}
	steps = append(steps,
		swarm.DeployStep(DeployID, "Deploy the kopnik stack", m, Component, append(deployNeeds, deployAfter...),
			func(_ context.Context, env *engine.Env) (swarm.Stack, error) {
				cfg, err := ServerConfig(s, o, env.Secrets)
				if err != nil {
					return swarm.Stack{}, err
				}
				return Render(s, o, cfg)
			}),
		script.Step(script.Spec{ID: SchemaID, Title: "Initialise kp-server's database schema once", Host: m, Component: Component,
			Needs: []string{DeployID}, Path: "kopnik/schema.sh",
			Data: func(context.Context, *engine.Env) (map[string]any, []byte, error) {
				js, err := templates.FS.ReadFile("kopnik/init-schema.js")
				if err != nil {
					return nil, nil, err
				}
				return map[string]any{"Dir": p.ServerDir, "Init": initCommand(o), "UID": fmt.Sprint(NodeUID)}, js, nil
			}}),
		// Done means working: the site answers as a user sees it.
		health.ProbeStep(ProbeID, "Check kopnik as a user would (/, /api, /ws)", m, Component, []string{SchemaID}, Component, Component+"_nginx", health.DefaultTimeout,
			func(context.Context, *engine.Env) ([]health.Probe, error) { return Probes(s), nil }),
	)
	steps = append(steps, acme.Steps(s, m, acme.Cert{Name: Component, Domains: []string{s.Domain}, Dir: p.TLSDir, Service: Component + "_nginx"}, DeployID)...)
	return steps, nil
}

// crossbarTar is the Crossbar image's build context as a tar.
func crossbarTar() ([]byte, error) {
	files, err := crossbarContext()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, err
		}
		tw.Write(files[n])
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// checkout is one source tree on the host.
type checkout struct {
	repo, ref, dir, what string
	// dirs are made in the tree (not in git, needed at run time).
	dirs []string
}

func (c checkout) local() bool {
	return strings.HasPrefix(c.repo, "/") || strings.HasPrefix(c.repo, "./") || strings.HasPrefix(c.repo, "file://")
}

// pinned reports whether the ref is a full commit id.
func (c checkout) pinned() bool {
	if len(c.ref) != 40 {
		return false
	}
	for _, r := range c.ref {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// gitErr is an error of local git with git's own message.
func gitErr(what string, err error, out []byte) error {
	msg := strings.TrimSpace(string(out))
	var ee *exec.ExitError
	if msg == "" && errors.As(err, &ee) {
		msg = strings.TrimSpace(string(ee.Stderr))
	}
	if msg == "" {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %s", what, msg)
}

// want is the commit the host should have: the pinned commit, or what a
// local repository's ref names; for a branch of a remote repository, any
// checkout of it counts as done (a re-run does not chase a moving branch).
func (c checkout) want() (string, error) {
	if c.pinned() {
		return c.ref, nil
	}
	if !c.local() {
		return "", nil
	}
	repo := strings.TrimPrefix(c.repo, "file://")
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--verify", "--end-of-options", c.ref+"^{commit}").CombinedOutput()
	if err != nil {
		return "", engine.WithHint(gitErr(fmt.Sprintf("%s: %s, ref %s", c.what, repo, c.ref), err, out), "check components.kopnik.options (%s_repo and %s_ref)", strings.TrimPrefix(c.what, "kp-"), strings.TrimPrefix(c.what, "kp-"))
	}
	return strings.TrimSpace(string(out)), nil
}

// git runs git on the host's checkout; root runs it in a tree owned by
// the node user, which git accepts only when told.
func (c checkout) git(args string) string {
	return "git -c safe.directory=" + host.Quote(c.dir) + " -C " + host.Quote(c.dir) + " " + args
}

func (c checkout) done(ctx context.Context, h host.Host) (bool, error) {
	head, err := h.Run(ctx, c.git("rev-parse HEAD"), host.RunOpts{Sudo: true})
	if err != nil {
		return false, nil
	}
	want, err := c.want()
	if err != nil {
		return false, err
	}
	if want != "" && strings.TrimSpace(head) != want {
		return false, nil
	}
	owner, err := h.Run(ctx, "stat -c %u "+host.Quote(c.dir), host.RunOpts{Sudo: true})
	return err == nil && strings.TrimSpace(owner) == fmt.Sprint(NodeUID), nil
}

func (c checkout) apply(ctx context.Context, env *engine.Env) error {
	src := c.repo
	fetchRef := c.ref
	if c.local() {
		repo := strings.TrimPrefix(c.repo, "file://")
		want, err := c.want()
		if err != nil {
			return err
		}
		// A bundle of the one commit's history (a ref must name it: a
		// bundle cannot carry a bare commit id).
		tmpRef := "refs/collabstack/" + c.what
		if out, err := exec.CommandContext(ctx, "git", "-C", repo, "update-ref", tmpRef, want).CombinedOutput(); err != nil {
			return gitErr(fmt.Sprintf("%s: mark %s in %s", c.what, want, repo), err, out)
		}
		var b, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "git", "-C", repo, "bundle", "create", "-", tmpRef)
		cmd.Stdout, cmd.Stderr = &b, &stderr
		err = cmd.Run()
		exec.Command("git", "-C", repo, "update-ref", "-d", tmpRef).Run()
		if err != nil {
			return gitErr(fmt.Sprintf("%s: bundle %s", c.what, repo), err, stderr.Bytes())
		}
		src = layout.Root + "/src/" + c.what + ".bundle"
		fetchRef = tmpRef
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
	mkdirs := ""
	for _, d := range c.dirs {
		mkdirs += "mkdir -p " + host.Quote(d) + " && "
	}
	cmd := "mkdir -p " + dir + " && cd " + dir + " && { [ -d .git ] || git init -q; } && " +
		"{ " + c.git("fetch -q "+host.Quote(src)+" "+host.Quote(fetchRef)) + " || " +
		// A server that refuses a commit id in a fetch: all its branches and tags.
		c.git("fetch -q --tags "+host.Quote(src)+" '+refs/heads/*:refs/remotes/src/*'") + "; } && " + c.git("checkout -q -f "+host.Quote(target)) +
		" && " + mkdirs + "chown -R " + fmt.Sprintf("%d:%d", NodeUID, NodeUID) + " " + dir
	if _, err := env.Sudo(ctx, cmd); err != nil {
		return engine.WithHint(fmt.Errorf("fetch %s from %s: %w", c.what, c.repo, err), "check components.kopnik.options (%s repo and ref) and that the host reaches the repository; without internet access, clone it on this machine and give its path as the repo option: collabstack uploads it", c.what)
	}
	return nil
}
