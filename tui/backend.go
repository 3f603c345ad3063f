// Package tui is collabstack's terminal front end: the wizard that asks for
// a site, the run view that shows an apply, and the plain line mode used
// without a terminal, with --plain and for screen readers.
//
// tui draws and asks; it never dials a host. Everything that reaches the
// network or the disk beyond the site file's validation goes through the
// Backend interface, which the CLI implements (cli/) on top of
// steps/install and steps/ssh. The field validators are the site file's
// own (steps/site), so a value the wizard accepts is a value apply accepts.
package tui

import (
	"context"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// Backend does everything remote or stateful for the wizard and the run
// view. Every method may be called from a goroutine other than the one
// that called RunWizard; calls that take a context must return soon after
// it is cancelled.
type Backend interface {
	// Existing reports the site file at path and its journal's state;
	// (nil, nil) when there is no site file there.
	Existing(path string) (*ExistingSite, error)
	// HostKey connects to h without trusting its key and returns the key's
	// SHA256 fingerprint ("SHA256:…") for the user to confirm. It does not
	// log in.
	HostKey(ctx context.Context, h site.Host, secrets map[string]string) (fingerprint string, err error)
	// Probe logs in to h, accepting only the host key with the confirmed
	// fingerprint (an empty fingerprint: the key already pinned for the
	// site), and reads its facts. The backend remembers the confirmed key:
	// Plan trusts it and Save pins it in the site's known_hosts.
	Probe(ctx context.Context, h site.Host, secrets map[string]string, fingerprint string) (HostFacts, error)
	// InstallKey is "I only have a password": it makes the site's own SSH
	// key in stateDir unless it is there, logs in to h once with password
	// (accepting only the host key with the confirmed fingerprint), adds
	// the key to the login user's authorized_keys (once), proves that the
	// key logs in, and returns the key file the site file names from then
	// on. The password is not kept.
	InstallKey(ctx context.Context, stateDir string, h site.Host, password, fingerprint string) (keyFile string, err error)
	// LocalFacts reads the facts of this machine, where a lab runs.
	LocalFacts(ctx context.Context) (HostFacts, error)
	// Resolve returns the addresses a domain resolves to (none and a nil
	// error when it does not resolve).
	Resolve(ctx context.Context, domain string) ([]string, error)
	// Catalog lists the components the wizard offers.
	Catalog() []App
	// Validate runs the site file's full validation (steps/site with the
	// catalog), after defaults are applied.
	Validate(s *site.Site) error
	// Plan checks the hosts' live state, changes nothing, and summarizes
	// what an apply would do per host, with an estimate of its time.
	Plan(ctx context.Context, s *site.Site, secrets map[string]string) (PlanSummary, error)
	// Save writes the site file at path (mode 0600) and stores the
	// secrets typed in the wizard (keys are the password_ref names the
	// site refers to) in the site's secrets file.
	Save(s *site.Site, secrets map[string]string, path string) error
	// Run applies the site file at path, as `collabstack apply` does,
	// sending every engine event to emit (which is safe for concurrent
	// use). It returns when the run ends or ctx is cancelled; the journal
	// then says where to resume.
	Run(ctx context.Context, path string, emit func(engine.Event)) (Result, error)
}

// ExistingSite is a site file found where the wizard would write one.
type ExistingSite struct {
	// Site is the file as parsed (site.Parse), before defaults and the
	// state dir are filled in, so that adding components writes it back
	// as the user wrote it.
	Site *site.Site
	// Interrupted: the last run has no end record (killed, Ctrl-C).
	Interrupted bool
	// Failed: the last run ended with failed steps.
	Failed bool
	// LastRun is when the last run started; zero when it never ran.
	LastRun time.Time
	// Done of Total steps were done when the last run stopped.
	Done, Total int
}

// HostFacts is what "test connection" shows of a host.
type HostFacts struct {
	OS     string // pretty name: Debian GNU/Linux 12 (bookworm)
	Arch   string // x86_64
	Cores  int
	RAMMB  int // total memory
	DiskGB int // free on /
}

// App is one component of the catalog.
type App struct {
	Name        string // the key in the site file's components
	Title       string
	Description string
	Category    string
	RAMMB       int // memory it needs
	DiskGB      int // disk it needs
	Requires    []string
	// Default: chosen unless the user deselects it.
	Default bool
}

// PlanSummary is what the review screen shows.
type PlanSummary struct {
	Hosts    []HostPlan
	Estimate time.Duration
}

// HostPlan is the plan for one host.
type HostPlan struct {
	Host  string
	Steps []PlannedStep
}

// PlannedStep is one step of the plan.
type PlannedStep struct {
	Title string
	// Change: the step would change the host; false: already done.
	Change bool
	// Unknown: the host could not be read (it is created by the run, or
	// it is down).
	Unknown bool
}

// Result is what the final screen shows.
type Result struct {
	// URLs maps a service's name to where it answers.
	URLs map[string]string
	// SecretsPath is the secrets file (mode 0600) holding the generated
	// passwords.
	SecretsPath string
	// Notes are extra lines for the final screen (a self-signed
	// certificate to accept, DNS records to create).
	Notes []string
}
