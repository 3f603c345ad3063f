package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/facts"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/journal"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
	"github.com/collabstack/collabstack/tui"
)

// backend is the wizard's way to the hosts: tui asks, this dials. Host
// keys the user confirmed are kept here until Save pins them in the
// site's known_hosts.
type backend struct {
	a *app
	// only and command tune Run for `apply --only` on a terminal.
	only    []string
	command string

	mu        sync.Mutex
	confirmed map[string]gossh.PublicKey // "name address:port" -> key
}

func newBackend(a *app) *backend {
	return &backend{a: a, confirmed: map[string]gossh.PublicKey{}}
}

var _ tui.Backend = (*backend)(nil)

func hostKeyID(h site.Host) string { return fmt.Sprintf("%s %s:%d", h.Name, h.Address, portOf(h)) }

func portOf(h site.Host) int {
	if h.Port == 0 {
		return 22
	}
	return h.Port
}

// Existing reads the site file at path and the last run of its journal.
func (b *backend) Existing(path string) (*tui.ExistingSite, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	s, err := site.Load(path, b.a.catalog())
	if err != nil {
		return nil, err
	}
	// The wizard writes the site back when components are added: give it
	// the file as the user wrote it, without the filled-in defaults.
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	written, err := site.Parse(data)
	if err != nil {
		return nil, err
	}
	ex := &tui.ExistingSite{Site: written}
	recs, err := journal.Read(filepath.Join(s.StateDir, install.JournalFile))
	if err != nil {
		return ex, nil // a site never applied
	}
	if last := journal.Last(recs); last != nil {
		ex.LastRun = last.Started
		ex.Interrupted = !last.Finished || last.Status == "interrupted"
		ex.Failed = len(last.Failed) > 0
		ex.Total = len(last.Steps)
		for _, r := range last.Steps {
			if r.Status == journal.StatusDone || r.Status == journal.StatusChanged {
				ex.Done++
			}
		}
	}
	return ex, nil
}

func specOf(h site.Host, secretValues map[string]string) (host.Spec, error) {
	return h.Spec(func(name string) (string, bool) {
		v, ok := secretValues[name]
		return v, ok
	})
}

// HostKey reads the key h offers, trusting nothing.
func (b *backend) HostKey(ctx context.Context, h site.Host, secretValues map[string]string) (string, error) {
	spec, err := specOf(h, secretValues)
	if err != nil {
		return "", err
	}
	key, err := ssh.ScanHostKey(ctx, spec)
	if err != nil {
		return "", engine.WithHint(err, "check the address and port, and that sshd runs on %s", h.Address)
	}
	b.mu.Lock()
	b.confirmed["scanned "+hostKeyID(h)] = key
	b.mu.Unlock()
	return gossh.FingerprintSHA256(key), nil
}

// Probe logs in accepting only the confirmed key and reads the facts.
func (b *backend) Probe(ctx context.Context, h site.Host, secretValues map[string]string, fingerprint string) (tui.HostFacts, error) {
	spec, err := specOf(h, secretValues)
	if err != nil {
		return tui.HostFacts{}, err
	}
	known, _ := ssh.Open("")
	b.mu.Lock()
	key := b.confirmed["scanned "+hostKeyID(h)]
	if fingerprint == "" {
		key = b.confirmed[hostKeyID(h)]
	}
	b.mu.Unlock()
	if fingerprint == "" && key == nil {
		// A site written earlier: its pinned keys.
		if s, err := site.Load(b.a.config, nil); err == nil {
			if k, err := ssh.Open(filepath.Join(s.StateDir, install.KnownHostsFile)); err == nil {
				known = k
			}
		}
	}
	if key != nil {
		if fingerprint != "" && gossh.FingerprintSHA256(key) != fingerprint {
			return tui.HostFacts{}, fmt.Errorf("the confirmed fingerprint %s is not the key %s offered (%s): test the connection again", fingerprint, h.Name, gossh.FingerprintSHA256(key))
		}
		if err := known.Pin(h.Name, h.Address, portOf(h), key); err != nil {
			return tui.HostFacts{}, err
		}
	} else if fingerprint != "" {
		return tui.HostFacts{}, fmt.Errorf("no host key of %s was read yet: test the connection first", h.Name)
	}
	c, err := ssh.Dial(ctx, spec, ssh.Options{KnownHosts: known})
	if err != nil {
		return tui.HostFacts{}, err
	}
	defer c.Close()
	f, err := facts.Gather(ctx, c)
	if err != nil {
		return tui.HostFacts{}, err
	}
	if key != nil {
		b.mu.Lock()
		b.confirmed[hostKeyID(h)] = key
		b.mu.Unlock()
	}
	return factsOf(f), nil
}

// InstallKey logs in once with the password, accepting only the
// confirmed host key, installs the site's key and proves it logs in.
func (b *backend) InstallKey(ctx context.Context, stateDir string, h site.Host, password, fingerprint string) (string, error) {
	b.mu.Lock()
	key := b.confirmed["scanned "+hostKeyID(h)]
	b.mu.Unlock()
	if key == nil || gossh.FingerprintSHA256(key) != fingerprint {
		return "", fmt.Errorf("no confirmed host key of %s: test the connection again", h.Name)
	}
	known, _ := ssh.Open("")
	if err := known.Pin(h.Name, h.Address, portOf(h), key); err != nil {
		return "", err
	}
	spec, err := specOf(h, nil)
	if err != nil {
		return "", err
	}
	spec.Password = password
	if abs, err := filepath.Abs(stateDir); err == nil {
		stateDir = abs // the site file names the key wherever apply runs from
	}
	keyFile := ssh.SiteKeyPath(stateDir)
	if _, err := ssh.InstallKey(ctx, spec, keyFile, ssh.Options{KnownHosts: known}); err != nil {
		return "", err
	}
	return keyFile, nil
}

func factsOf(f facts.Facts) tui.HostFacts {
	return tui.HostFacts{OS: f.OSPretty, Arch: f.Arch, Cores: f.Cores, RAMMB: f.MemoryMB, DiskGB: f.DiskFreeGB}
}

// LocalFacts reads this machine, where a lab runs.
func (b *backend) LocalFacts(ctx context.Context) (tui.HostFacts, error) {
	f, err := facts.Gather(ctx, host.NewLocal("local"))
	return factsOf(f), err
}

// Resolve looks the domain up with the system's resolver.
func (b *backend) Resolve(ctx context.Context, domain string) ([]string, error) {
	if site.IsReservedDomain(domain) {
		return nil, nil // never in public DNS: nothing to ask
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, domain)
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return nil, nil
	}
	return addrs, err
}

// Catalog lists the components.
func (b *backend) Catalog() []tui.App { return b.a.componentList() }

// Validate fills defaults and checks the site as apply would.
func (b *backend) Validate(s *site.Site) error {
	s.ApplyDefaults()
	return s.Validate(b.a.catalog())
}

// Plan writes the site to a scratch state and runs a dry run there:
// nothing changes anywhere, and the real state directory is untouched.
func (b *backend) Plan(ctx context.Context, s *site.Site, secretValues map[string]string) (tui.PlanSummary, error) {
	dir, err := os.MkdirTemp("", "collabstack-plan-*")
	if err != nil {
		return tui.PlanSummary{}, err
	}
	defer os.RemoveAll(dir)
	draft := *s
	draft.StateDir = filepath.Join(dir, "state")
	if s.Topology == site.TopologyLab && s.StateDir != "" {
		// The lab's keys and nodes belong to the real state directory.
		draft.StateDir = s.StateDir
	}
	path := filepath.Join(dir, "site.yaml")
	if err := b.save(&draft, secretValues, path, draft.StateDir != s.StateDir); err != nil {
		return tui.PlanSummary{}, err
	}
	sess, err := install.Open(path, install.Options{Catalog: b.a.catalog(), Dialer: ssh.DialerFor})
	if err != nil {
		return tui.PlanSummary{}, err
	}
	defer sess.Close()
	byHost := map[string]*tui.HostPlan{}
	var order []string
	changes := 0
	emit := func(e engine.Event) {
		if e.Kind != engine.StepPlanned {
			return
		}
		name := e.Host
		if name == "" {
			name = "this machine"
		}
		hp := byHost[name]
		if hp == nil {
			hp = &tui.HostPlan{Host: name}
			byHost[name] = hp
			order = append(order, name)
		}
		hp.Steps = append(hp.Steps, tui.PlannedStep{Title: e.Title, Change: e.Changed, Unknown: e.Unknown})
		if e.Changed || e.Unknown {
			changes++
		}
	}
	if _, err := sess.Run(ctx, install.RunOptions{DryRun: true, Emit: emit, Command: "plan"}); err != nil {
		var re *engine.RunError
		if !errors.As(err, &re) {
			return tui.PlanSummary{}, err
		}
	}
	sort.Strings(order)
	var sum tui.PlanSummary
	for _, n := range order {
		sum.Hosts = append(sum.Hosts, *byHost[n])
	}
	// A rough figure: most steps take seconds, installs and builds a few
	// minutes; 15 s a step matches the lab's fresh install.
	sum.Estimate = time.Duration(changes) * 15 * time.Second
	return sum, nil
}

// Save writes the site file (0600), the typed secrets and the confirmed
// host keys.
func (b *backend) Save(s *site.Site, secretValues map[string]string, path string) error {
	return b.save(s, secretValues, path, true)
}

func (b *backend) save(s *site.Site, secretValues map[string]string, path string, pin bool) error {
	data, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write the site file %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	resolved := *s
	resolved.ResolveStateDir(path)
	stateDir := resolved.StateDir
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return err
	}
	store, err := secrets.Open(filepath.Join(stateDir, install.SecretsFile))
	if err != nil {
		return err
	}
	for name, v := range secretValues {
		if err := store.Set(name, v); err != nil {
			return err
		}
	}
	if !pin {
		return nil
	}
	known, err := ssh.Open(filepath.Join(stateDir, install.KnownHostsFile))
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, h := range s.Hosts {
		if key := b.confirmed[hostKeyID(h)]; key != nil {
			if err := known.Pin(h.Name, h.Address, portOf(h), key); err != nil {
				return err
			}
		}
	}
	return nil
}

// Run applies the site file as `collabstack apply` does.
func (b *backend) Run(ctx context.Context, path string, emit func(engine.Event)) (tui.Result, error) {
	sess, err := install.Open(path, install.Options{Catalog: b.a.catalog(), Dialer: ssh.DialerFor})
	if err != nil {
		return tui.Result{}, err
	}
	defer sess.Close()
	command := b.command
	if command == "" {
		command = "apply (wizard)"
	}
	_, err = sess.Run(ctx, install.RunOptions{Emit: emit, Command: command, Only: b.only})
	res := tui.Result{URLs: map[string]string{}, SecretsPath: filepath.Join(sess.StateDir(), install.SecretsFile)}
	for i, u := range sess.URLs() {
		res.URLs[fmt.Sprintf("site %d", i+1)] = u
	}
	if ctx.Err() == nil {
		// Each app as a user would see it: ✓ or ✗ and why.
		res.Notes = append(res.Notes, probeSummary(ctx, sess, err != nil)...)
	}
	for _, n := range sess.AdminNotes() {
		res.Notes = append(res.Notes, "Admin of "+n)
	}
	for _, p := range sess.PortNotes() {
		res.Notes = append(res.Notes, "Port of "+p)
	}
	if note := sess.TrustNote(); note != "" {
		res.Notes = append(res.Notes, note)
	}
	if mp, ok := b.a.writeRunbook(ctx, sess); ok {
		res.Notes = append(res.Notes, "The runbook (hosts, apps, admins, backups, firewall, DNS): "+mp)
	}
	return res, err
}
