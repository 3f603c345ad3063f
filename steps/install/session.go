// Package install is one site's working session: the site file, its state
// directory (journal, secrets, pinned host keys, lock), the hosts and the
// plan. The CLI and the wizard both drive an install through it.
package install

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sync"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/journal"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/recipe"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sitemodel"
)

// Files in the state directory.
const (
	SecretsFile    = "secrets.yaml"
	JournalFile    = "journal.jsonl"
	KnownHostsFile = "known_hosts"
)

// DialerFactory makes the engine's dialer for a site: it pins host keys in
// knownHosts and redacts secrets from what it reports.
type DialerFactory func(knownHosts string, redact func(string) string) (engine.Dialer, error)

// Options tune Open.
type Options struct {
	// Catalog checks component names; nil skips the check.
	Catalog site.Catalog
	// Dialer connects to hosts (the CLI passes the SSH transport).
	Dialer DialerFactory
	// Build makes the plan; nil uses recipe.Build. Tests pass their own.
	Build func(*Session) (*engine.Plan, error)
}

// Session is an opened site.
type Session struct {
	Site     *site.Site
	Path     string
	Secrets  *secrets.Store
	Redactor *secrets.Redactor
	Hosts    *engine.Inventory
	build    func(*Session) (*engine.Plan, error)

	modelOnce sync.Once
	model     *sitemodel.Model
}

// Open loads and validates the site file and opens its state. It changes
// nothing on any host; a bad site file changes nothing at all.
func Open(path string, opts Options) (*Session, error) {
	s, store, err := check(path, opts)
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(path)
	red := secrets.NewRedactor(store)
	sess := &Session{Site: s, Path: abs, Secrets: store, Redactor: red, build: opts.Build}
	if sess.build == nil {
		sess.build = defaultBuild
	}
	specs := []host.Spec{{Name: layout.LocalHost, Local: true}}
	for _, h := range s.Hosts {
		spec, err := h.Spec(store.Get)
		if err != nil {
			return nil, err
		}
		red.Add(spec.Password, spec.SudoPassword)
		specs = append(specs, spec)
	}
	dial := func(ctx context.Context, spec host.Spec, inv *engine.Inventory) (host.Host, error) {
		if spec.Local {
			return host.NewLocal(spec.Name), nil
		}
		return nil, fmt.Errorf("no transport to reach %s", spec.Name)
	}
	if opts.Dialer != nil {
		d, err := opts.Dialer(filepath.Join(s.StateDir, KnownHostsFile), red.Redact)
		if err != nil {
			return nil, err
		}
		dial = d
	}
	sess.Hosts = engine.NewInventory(dial, specs...)
	return sess, nil
}

func defaultBuild(se *Session) (*engine.Plan, error) { return recipe.Build(se.Site) }

// ensureStateDir makes the state directory when a run first needs it.
func (s *Session) ensureStateDir() error {
	if err := os.MkdirAll(s.Site.StateDir, 0o700); err != nil {
		return engine.WithHint(fmt.Errorf("create the state directory %s: %w", s.Site.StateDir, err), "check that its folder is writable, or set state_dir in the site file")
	}
	return nil
}

// StateDir is where the journal, secrets and pinned keys live.
func (s *Session) StateDir() string { return s.Site.StateDir }

// JournalPath is the journal's file.
func (s *Session) JournalPath() string { return filepath.Join(s.Site.StateDir, JournalFile) }

// Close closes every host connection.
func (s *Session) Close() error { return s.Hosts.Close() }

// Plan builds the site's plan.
func (s *Session) Plan() (*engine.Plan, error) {
	p, err := s.build(s)
	if err != nil {
		return nil, err
	}
	return p, p.Validate()
}

// RunOptions tune Run.
type RunOptions struct {
	// DryRun checks live state and reports, changing nothing (`plan`).
	DryRun bool
	// Only limits the run to these components and what they need.
	Only []string
	// Emit receives the engine's events.
	Emit func(engine.Event)
	// Command is recorded in the journal.
	Command string
	// Parallel and PerHost bound concurrency (0: engine defaults).
	Parallel, PerHost int
}

// Run applies (or, DryRun, checks) the plan. An apply takes the site's
// lock, here and on the first host, and journals every step; an earlier
// interrupted apply simply resumes, since every step checks live state.
func (s *Session) Run(ctx context.Context, opts RunOptions) (engine.Summary, error) {
	p, err := s.Plan()
	if err != nil {
		return engine.Summary{}, err
	}
	if len(opts.Only) > 0 {
		if p, err = p.Only(opts.Only...); err != nil {
			return engine.Summary{}, err
		}
	}
	if err := s.checkTrust(ctx); err != nil {
		return engine.Summary{}, err
	}
	r := &engine.Runner{
		Plan: p, Hosts: s.Hosts, Secrets: s.Secrets, Redactor: s.Redactor, Emit: opts.Emit,
		DryRun: opts.DryRun, Command: opts.Command, Parallel: opts.Parallel, PerHost: opts.PerHost,
	}
	if !opts.DryRun {
		if err := s.ensureStateDir(); err != nil {
			return engine.Summary{}, err
		}
		ll, err := lockLocal(s.Site.StateDir)
		if err != nil {
			return engine.Summary{}, err
		}
		defer ll.release()
		if len(s.Site.Hosts) > 0 {
			first := s.Site.Hosts[0].Name
			// An unreachable first host is reported by its connect step;
			// a lock held by someone else, a host key that is not trusted
			// and Ctrl-C stop the run here.
			h, err := s.Hosts.Get(ctx, first)
			switch {
			case err == nil:
				rl, err := lockRemote(ctx, h, lockHolder())
				if err != nil {
					return engine.Summary{}, err
				}
				defer rl.release()
			case ctx.Err() != nil:
				return engine.Summary{}, ctx.Err()
			case isTrustError(err):
				return engine.Summary{}, err
			}
		}
		j, err := journal.Open(s.JournalPath())
		if err != nil {
			return engine.Summary{}, err
		}
		defer j.Close()
		r.Journal = j
	}
	sum, err := r.Run(ctx)
	s.writeCA()
	return sum, err
}

// CAFile is the site's CA certificate in the state directory, for
// browsers and hosts to trust the certificates the site's CA signs.
const CAFile = "site-ca.pem"

// CAPath returns the path of the site's CA certificate, "" when the site
// has no CA (nothing was signed by it yet).
func (s *Session) CAPath() string {
	p := filepath.Join(s.Site.StateDir, CAFile)
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// UnconstrainedCA says, for a site whose CA was made before collabstack
// limited it to the site's names (pki), how to replace it; "" otherwise.
func (s *Session) UnconstrainedCA() string {
	certPEM, okC := s.Secrets.Get(pki.CACertSecret)
	keyPEM, okK := s.Secrets.Get(pki.CAKeySecret)
	if !okC || !okK {
		return ""
	}
	ca, err := pki.Parse([]byte(certPEM), []byte(keyPEM))
	if err != nil || ca.Constrained() {
		return ""
	}
	return "The site's CA may sign for any name (it predates name constraints): `collabstack ca rotate` replaces it with one limited to " + pki.ScopeOf(s.Site).String() + "; browsers and hosts must then trust the new one."
}

// RotateCA replaces the site's CA with a new one limited to the site's
// names (pki.ScopeOf) and writes it to the state directory; the next
// apply re-issues every certificate it signs.
func (s *Session) RotateCA() (string, error) {
	if err := s.ensureStateDir(); err != nil {
		return "", err
	}
	if _, err := pki.Rotate(s.Secrets, s.Site.Name, pki.ScopeOf(s.Site)); err != nil {
		return "", err
	}
	path := filepath.Join(s.Site.StateDir, CAFile)
	if err := s.writeCA(); err != nil {
		return "", fmt.Errorf("the new CA is in the secrets file, but writing %s failed: %w", path, err)
	}
	return path, nil
}

func (s *Session) writeCA() error {
	if ca, ok := s.Secrets.Get(pki.CACertSecret); ok {
		return os.WriteFile(filepath.Join(s.Site.StateDir, CAFile), []byte(ca), 0o644)
	}
	return nil
}

func lockHolder() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	hn, _ := os.Hostname()
	return fmt.Sprintf("%s@%s pid %d since %s", name, hn, os.Getpid(), time.Now().UTC().Format(time.RFC3339))
}

// URLs says where the deployed site answers, for the end of an apply:
// the kopnik site and every chosen web app.
func (s *Session) URLs() []string {
	m := s.Model()
	if m == nil {
		return nil
	}
	var urls []string
	if m.Kopnik {
		mgr := ""
		for _, h := range s.Site.Hosts {
			if h.Role == site.RoleManager {
				mgr = h.Name
				break
			}
		}
		if mgr == "" && s.Site.Topology == site.TopologyLab {
			mgr = "lab-1"
		}
		if spec, ok := s.Hosts.Spec(mgr); ok && spec.Address != "" {
			urls = append(urls, "https://"+spec.Address+"/")
		}
	}
	for _, u := range m.URLs() {
		if m.Kopnik && u == "https://"+m.Domain+"/" {
			u += " (once its DNS record points at the manager)"
		}
		urls = append(urls, u)
	}
	return urls
}

// AdminNotes says, for every chosen app, where its admin account is: the
// user and the name of its password in the secrets file (never the
// password itself).
func (s *Session) AdminNotes() []string {
	m := s.Model()
	if m == nil {
		return nil
	}
	var out []string
	for _, a := range m.Apps {
		if a.Admin != "" {
			out = append(out, a.Title+": "+a.Admin)
		}
	}
	return out
}

// PortNotes lists the chosen apps' ports that are not the web (git over
// SSH, RTMP, TURN, mail, RADIUS): where clients reach each and who may.
func (s *Session) PortNotes() []string {
	m := s.Model()
	if m == nil {
		return nil
	}
	return m.PortNotes()
}

// Model is the site's names, URLs and apps, derived once per session;
// nil when the site's components do not resolve against the catalog.
func (s *Session) Model() *sitemodel.Model {
	s.modelOnce.Do(func() { s.model, _ = sitemodel.Of(s.Site) })
	return s.model
}

// TrustNote says how a browser comes to trust a self-signed site's
// certificates ("" for a site with a public CA).
func (s *Session) TrustNote() string {
	if s.Site.TLS.Mode != site.TLSSelfSigned {
		return ""
	}
	if ca := s.CAPath(); ca != "" {
		note := "The certificates come from the site's own CA: import " + ca + " into your browser to trust them."
		if old := s.UnconstrainedCA(); old != "" {
			note += "\n" + old
		}
		return note
	}
	return "The certificate is self-signed: your browser will ask you to accept it."
}

// checkTrust connects to every host of the site file at once and stops
// the run (apply or plan) before any step when one offers a key that is
// unknown or has changed: nothing is done on any host then. Hosts that do
// not answer are left to their connect steps; the connections made are
// the ones the steps use.
func (s *Session) checkTrust(ctx context.Context) error {
	errs := make([]error, len(s.Site.Hosts))
	var wg sync.WaitGroup
	for i, h := range s.Site.Hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Hosts.Get(ctx, h.Name); isTrustError(err) {
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return ctx.Err()
}
