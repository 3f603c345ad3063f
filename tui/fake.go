package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// FakeBackend is a Backend that reaches nothing and answers from its
// fields. It exists for tui's own tests and the demo binary
// (tui/internal/wizarddemo) only: the real backend lives in cli, on top of
// steps/install and steps/ssh, and is tested there.
//
// Save writes the site file for real (YAML, 0600) and keeps the secrets in
// memory; Run reads that file back and plays a scripted run of a few steps
// per host and component.
type FakeBackend struct {
	// Sites answers Existing, by path.
	Sites map[string]*ExistingSite
	// Fingerprint is every host's key ("SHA256:…").
	Fingerprint string
	// Facts by host address; Default is used for the others.
	Facts        map[string]HostFacts
	DefaultFacts HostFacts
	Local        HostFacts
	// Unreachable addresses fail HostKey.
	Unreachable map[string]bool
	// DNS answers Resolve.
	DNS  map[string][]string
	Apps []App
	// FailStep is the ID of a step that fails on the first run.
	FailStep string
	// Delay is slept between the run's events (the demo sets it).
	Delay time.Duration
	// OutputLines per step (default 3).
	OutputLines int
	// WrongPassword is refused by InstallKey.
	WrongPassword string

	mu       sync.Mutex
	saved    map[string]string // secrets from the last Save
	runs     int
	probed   []string
	accepted map[string]string
}

// NewFakeBackend returns a FakeBackend with the demo catalog and a host
// of 4 cores, 8 GB and 80 GB free.
func NewFakeBackend() *FakeBackend {
	return &FakeBackend{
		Fingerprint:  "SHA256:Yk3wq8Nq1bU0Qxk2B8s1r9dZ0Jcq5mXq2n3pA7vLhFo",
		DefaultFacts: HostFacts{OS: "Debian GNU/Linux 12 (bookworm)", Arch: "x86_64", Cores: 4, RAMMB: 8192, DiskGB: 80},
		Local:        HostFacts{OS: "Debian GNU/Linux 12 (bookworm)", Arch: "x86_64", Cores: 8, RAMMB: 16384, DiskGB: 200},
		Apps:         DemoCatalog(),
	}
}

// DemoCatalog is the catalog of the fake backend.
func DemoCatalog() []App {
	return []App{
		{Name: "kopnik", Title: "kopnik.org", Description: "the kopnik.org site: client, API and its database", Category: "Presets", RAMMB: 1024, DiskGB: 10, Requires: []string{"postgres"}},
		{Name: "nextcloud", Title: "Nextcloud", Description: "files, calendars and contacts", Category: "Collaboration", RAMMB: 2048, DiskGB: 20, Requires: []string{"postgres", "redis"}},
		{Name: "onlyoffice", Title: "ONLYOFFICE Docs", Description: "edit office documents in Nextcloud", Category: "Collaboration", RAMMB: 2048, DiskGB: 5, Requires: []string{"nextcloud"}},
		{Name: "matrix", Title: "Matrix (Synapse)", Description: "chat rooms with end-to-end encryption", Category: "Collaboration", RAMMB: 1024, DiskGB: 10, Requires: []string{"postgres"}},
		{Name: "gitea", Title: "Gitea", Description: "Git hosting with issues and reviews", Category: "Development", RAMMB: 512, DiskGB: 10, Requires: []string{"postgres"}},
		{Name: "keycloak", Title: "Keycloak", Description: "single sign-on for every app", Category: "Identity", RAMMB: 768, DiskGB: 2, Requires: []string{"postgres"}},
		{Name: "postgres", Title: "PostgreSQL", Description: "the shared database", Category: "Infrastructure", RAMMB: 512, DiskGB: 5},
		{Name: "redis", Title: "Redis", Description: "cache and locks", Category: "Infrastructure", RAMMB: 256, DiskGB: 1},
	}
}

// Existing answers from Sites, else reads a site file at path (never
// applied, as far as the fake knows).
func (b *FakeBackend) Existing(path string) (*ExistingSite, error) {
	if e, ok := b.Sites[path]; ok {
		return e, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil
	}
	s, err := site.Parse(data)
	if err != nil {
		return nil, err
	}
	return &ExistingSite{Site: s}, nil
}

// HostKey returns Fingerprint unless the address is unreachable.
func (b *FakeBackend) HostKey(ctx context.Context, h site.Host, _ map[string]string) (string, error) {
	if err := b.wait(ctx); err != nil {
		return "", err
	}
	if b.Unreachable[h.Address] {
		return "", engine.WithHint(fmt.Errorf("connect to %s:%d: connection refused", h.Address, h.Port), "check that sshd runs on %s and listens on port %d", h.Address, h.Port)
	}
	return b.Fingerprint, nil
}

// Probe returns the facts of the address.
func (b *FakeBackend) Probe(ctx context.Context, h site.Host, _ map[string]string, fp string) (HostFacts, error) {
	if err := b.wait(ctx); err != nil {
		return HostFacts{}, err
	}
	if fp != "" && fp != b.Fingerprint {
		return HostFacts{}, fmt.Errorf("host key of %s changed", h.Name)
	}
	b.mu.Lock()
	b.probed = append(b.probed, h.Name)
	if b.accepted == nil {
		b.accepted = map[string]string{}
	}
	b.accepted[h.Name] = fp
	b.mu.Unlock()
	if f, ok := b.Facts[h.Address]; ok {
		return f, nil
	}
	return b.DefaultFacts, nil
}

// InstallKey takes any password but WrongPassword and answers the key
// file stateDir/ssh/id_ed25519 (a name only: the fake writes no key and
// cannot show that a key really logs in; cli's tests do, on a real sshd).
func (b *FakeBackend) InstallKey(ctx context.Context, stateDir string, h site.Host, password, fp string) (string, error) {
	if err := b.wait(ctx); err != nil {
		return "", err
	}
	if fp != b.Fingerprint {
		return "", fmt.Errorf("host key of %s changed", h.Name)
	}
	if password == "" || password == b.WrongPassword {
		return "", engine.WithHint(fmt.Errorf("log in to %s (%s:%d) as %s: unable to authenticate", h.Name, h.Address, h.Port, h.User), "check the password of %s and that the host allows password logins (PasswordAuthentication yes)", h.User)
	}
	return filepath.Join(stateDir, "ssh", "id_ed25519"), nil
}

// LocalFacts returns Local.
func (b *FakeBackend) LocalFacts(ctx context.Context) (HostFacts, error) { return b.Local, nil }

// Resolve answers from DNS.
func (b *FakeBackend) Resolve(ctx context.Context, domain string) ([]string, error) {
	return b.DNS[domain], nil
}

// Catalog returns Apps.
func (b *FakeBackend) Catalog() []App { return b.Apps }

// Validate runs the site file's validation with the catalog.
func (b *FakeBackend) Validate(s *site.Site) error { return s.Validate(newCatalog(b.Apps)) }

// Plan lists the fake steps per host; each would change.
func (b *FakeBackend) Plan(ctx context.Context, s *site.Site, _ map[string]string) (PlanSummary, error) {
	var ps PlanSummary
	byHost := map[string]*HostPlan{}
	var order []string
	for _, st := range fakeSteps(s) {
		hp, ok := byHost[st.host]
		if !ok {
			hp = &HostPlan{Host: st.host}
			byHost[st.host] = hp
			order = append(order, st.host)
		}
		hp.Steps = append(hp.Steps, PlannedStep{Title: st.title, Change: true, Unknown: st.host == "lab-1" || st.host == "lab-2"})
		ps.Estimate += 20 * time.Second
	}
	for _, h := range order {
		ps.Hosts = append(ps.Hosts, *byHost[h])
	}
	return ps, nil
}

// Save writes the site file (0600) and keeps the secrets in memory.
func (b *FakeBackend) Save(s *site.Site, secrets map[string]string, path string) error {
	data, err := yaml.Marshal(s)
	if err != nil {
		return err
	}
	data = append([]byte("# collabstack site file, written by the wizard\n"), data...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write the site file: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	b.mu.Lock()
	b.saved = secrets
	b.mu.Unlock()
	return nil
}

// SavedSecrets returns the secrets of the last Save.
func (b *FakeBackend) SavedSecrets() map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.saved
}

// Runs counts the calls of Run.
func (b *FakeBackend) Runs() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.runs
}

// Run plays a run of the site file at path.
func (b *FakeBackend) Run(ctx context.Context, path string, emit func(engine.Event)) (Result, error) {
	b.mu.Lock()
	b.runs++
	first := b.runs == 1
	b.mu.Unlock()
	s, err := site.Load(path, newCatalog(b.Apps))
	if err != nil {
		return Result{}, err
	}
	steps := fakeSteps(s)
	lines := b.OutputLines
	if lines == 0 {
		lines = 3
	}
	start := time.Now()
	emit(engine.Event{Time: start, Kind: engine.RunStarted, Total: len(steps)})
	failed := false
	var runErr error
	for _, st := range steps {
		if err := b.wait(ctx); err != nil {
			runErr = err
			break
		}
		ev := engine.Event{Step: st.id, Title: st.title, Host: st.host}
		if failed && st.afterFail {
			ev.Kind, ev.Time = engine.StepBlocked, time.Now()
			emit(ev)
			continue
		}
		ev.Kind, ev.Time = engine.StepStarted, time.Now()
		emit(ev)
		for i := 1; i <= lines; i++ {
			ev.Kind, ev.Time, ev.Line = engine.StepOutput, time.Now(), fmt.Sprintf("%s: line %d of %d", st.title, i, lines)
			emit(ev)
		}
		ev.Line = ""
		ev.Elapsed = 1500 * time.Millisecond
		if first && st.id == b.FailStep {
			failed = true
			ev.Kind, ev.Time = engine.StepFailed, time.Now()
			ev.Err = fmt.Errorf("%s: exit status 100", st.title)
			ev.Hint = "check that the host reaches its package mirror, then retry"
			emit(ev)
			continue
		}
		ev.Kind, ev.Time, ev.Changed = engine.StepDone, time.Now(), true
		emit(ev)
	}
	if runErr == nil && failed {
		runErr = engine.WithHint(errors.New("1 step failed"), "fix what it says and run apply again")
	}
	emit(engine.Event{Time: time.Now(), Kind: engine.RunFinished, Err: runErr, Elapsed: time.Since(start)})
	if runErr != nil {
		return Result{}, runErr
	}
	res := Result{URLs: map[string]string{}, SecretsPath: path + ".state/secrets.yaml"}
	for name := range s.Components {
		if name == "postgres" || name == "redis" {
			continue
		}
		res.URLs[name] = "https://" + name + "." + s.Domain + "/"
	}
	if s.TLS.Mode == site.TLSSelfSigned {
		res.Notes = append(res.Notes, "The certificate is self-signed: your browser asks you to accept it.")
	}
	return res, nil
}

func (b *FakeBackend) wait(ctx context.Context) error {
	if b.Delay > 0 {
		t := time.NewTimer(b.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return ctx.Err()
}

type fakeStep struct {
	id, title, host string
	afterFail       bool
}

// fakeSteps are the steps the fake plays for a site.
func fakeSteps(s *site.Site) []fakeStep {
	var hosts []string
	for _, h := range s.Hosts {
		hosts = append(hosts, h.Name)
	}
	if len(hosts) == 0 && s.Lab != nil {
		for i := 1; i <= s.Lab.Nodes; i++ {
			hosts = append(hosts, fmt.Sprintf("lab-%d", i))
		}
	}
	var out []fakeStep
	for _, h := range hosts {
		out = append(out,
			fakeStep{id: "hosts/reach/" + h, title: "Connect and read facts", host: h},
			fakeStep{id: "prepare/packages/" + h, title: "Install base packages", host: h},
			fakeStep{id: "prepare/docker/" + h, title: "Install Docker", host: h},
		)
	}
	mgr := "manager"
	if len(hosts) > 0 {
		mgr = hosts[0]
	}
	out = append(out, fakeStep{id: "swarm/init", title: "Start the swarm", host: mgr, afterFail: true})
	var comps []string
	for c := range s.Components {
		comps = append(comps, c)
	}
	sort.Strings(comps)
	for _, c := range comps {
		out = append(out, fakeStep{id: "apps/" + c, title: "Deploy " + strings.ToLower(c), host: mgr, afterFail: true})
	}
	return out
}
