// Package backup backs a site up with restic (Debian's package) and
// restores it. Every swarm node backs up what it holds: the databases
// running there, dumped inside their own containers (pg_dump,
// mariadb-dump), every other named volume, the data folders, and on the
// manager a copy of the site file and the secrets file. Repositories are
// folders on a site host reached over SFTP, or SFTP URLs of hosts outside
// the site, all encrypted with one key generated into the secrets file.
// A systemd timer on every node runs the backup; the manager also applies
// the retention policy. The scripts are templates/backup/*.sh.
package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// Component is the --only name of the backup steps.
const Component = "backup"

// KeySecret is the secrets-file name of the repositories' key.
const KeySecret = "backup-key"

// Paths on the hosts.
const (
	Conf   = "/etc/collabstack/backup"
	State  = layout.Root + "/backup"
	Script = "/usr/local/lib/collabstack/backup.sh"
	// SiteCopy holds the manager's copy of the site and secrets files,
	// backed up with the rest.
	SiteCopy = State + "/site"
	// RepoUser owns a repository on a site host.
	RepoUser = "collabstack-backup"
)

// RelayService is the swarm service of the site's mail relay (the smtp
// app), which a failed backup's mail goes through.
const RelayService = "smtp_smtp"

// Step IDs.
func SetupID(node string) string     { return "backup/setup/" + node }
func AuthorizeID(repo string) string { return "backup/authorize/" + repo }
func PinID(repo, node string) string { return "backup/pin/" + repo + "/" + node }
func InitID(repo string) string      { return "backup/init/" + repo }

// SiteCopyID copies the site and secrets files to the manager.
const SiteCopyID = "backup/site-copy"

// Nodes are the hosts that back up: the swarm's manager first, then its
// workers.
func Nodes(hosts []site.Host) ([]site.Host, error) {
	mgr, workers, err := swarm.Members(hosts)
	if err != nil {
		return nil, err
	}
	return append([]site.Host{mgr}, workers...), nil
}

// Repo is one repository as a node reaches it.
type Repo struct {
	Name string
	// Repository is restic's -r: a local folder, sftp:user@host:/path or
	// s3:https://endpoint/bucket/path.
	Repository string
	// SSHTarget (user@host) and Port when it is reached over SFTP.
	SSHTarget string
	Port      int
	// EnvFile, for S3, is the 0600 file on the node with the S3 keys
	// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION), which
	// the shell reads before it starts restic: the keys are in no argv.
	EnvFile string
	// Options are restic's -o options of the repository (s3.bucket-lookup).
	Options []string
	// Spec is the repository as the site file gives it.
	Spec site.BackupRepository
}

// EnvFileOf is where a node keeps an S3 repository's keys.
func EnvFileOf(repo string) string { return Conf + "/s3-" + repo + ".env" }

// address is where a host is reached: the inventory knows hosts made
// while the plan runs (lab nodes).
func address(inv *engine.Inventory, h site.Host) (string, int) {
	if spec, ok := inv.Spec(h.Name); ok && spec.Address != "" {
		port := spec.Port
		if port == 0 {
			port = 22
		}
		return spec.Address, port
	}
	port := h.Port
	if port == 0 {
		port = 22
	}
	return h.Address, port
}

func byName(hosts []site.Host, name string) (site.Host, bool) {
	for _, h := range hosts {
		if h.Name == name {
			return h, true
		}
	}
	return site.Host{}, false
}

// ReposFor says how node reaches every repository.
func ReposFor(s *site.Site, hosts []site.Host, inv *engine.Inventory, node string) ([]Repo, error) {
	var out []Repo
	for _, r := range s.Backup.Repositories {
		switch {
		case r.S3():
			endpoint := site.S3Endpoint(r.Endpoint)
			if endpoint == "" {
				u, err := garageURL(s)
				if err != nil {
					return nil, err
				}
				endpoint = u
			}
			repo := "s3:" + endpoint + "/" + r.Bucket
			if p := strings.Trim(r.Path, "/"); p != "" {
				repo += "/" + p
			}
			var opts []string
			if r.Kind == site.RepoGarage {
				// Garage answers path-style requests (s3.<domain>/<bucket>)
				// without a wildcard DNS name per bucket.
				opts = append(opts, "s3.bucket-lookup=path")
			}
			out = append(out, Repo{Name: r.Name, Repository: repo, EnvFile: EnvFileOf(r.Name), Options: opts, Spec: r})
		case r.URL != "":
			u, err := site.ParseSFTPURL(r.URL)
			if err != nil {
				return nil, err
			}
			out = append(out, Repo{Name: r.Name, Repository: "sftp:" + u.User + "@" + bracket(u.Host) + ":" + u.Path, SSHTarget: u.User + "@" + u.Host, Port: u.Port, Spec: r})
		case r.Host == "" || r.Host == node:
			out = append(out, Repo{Name: r.Name, Repository: r.Path, Spec: r})
		default:
			h, ok := byName(hosts, r.Host)
			if !ok {
				return nil, fmt.Errorf("backup.repositories: host %q is not a host of this site", r.Host)
			}
			addr, port := address(inv, h)
			out = append(out, Repo{Name: r.Name, Repository: "sftp:" + RepoUser + "@" + bracket(addr) + ":" + r.Path, SSHTarget: RepoUser + "@" + addr, Port: port, Spec: r})
		}
	}
	return out, nil
}

func bracket(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// extraPaths are the data folders backed up beside the volumes: the SFTP
// root (kopnik's sources and its upload folder) and the certificates.
func extraPaths(s *site.Site) []string {
	return []string{s.Prepare.SFTPRoot, layout.Root + "/tls"}
}

// Files renders what a node gets: the runner script and the units.
func Files(s *site.Site, hosts []site.Host, inv *engine.Inventory, node string, manager bool) (map[string][]byte, error) {
	repos, err := ReposFor(s, hosts, inv, node)
	if err != nil {
		return nil, err
	}
	type runRepo struct {
		Name   string
		Restic []string
	}
	var rr []runRepo
	for _, r := range repos {
		rr = append(rr, runRepo{Name: r.Name, Restic: resticArgs(r)})
	}
	data := map[string]any{
		"Node": node, "State": State, "Conf": Conf, "Extra": extraPaths(s), "Repos": rr,
		"Manager": manager, "Keep": s.Backup.Keep, "Script": Script, "Schedule": s.Backup.Schedule,
		"Metrics": layout.Metrics,
		"MailTo":  s.AdminEmail, "MailFrom": "noreply@" + s.Domain, "Relay": RelayService,
	}
	out := map[string][]byte{}
	for path, tmpl := range map[string]string{
		Script: "backup/run.sh",
		"/etc/systemd/system/collabstack-backup.service": "backup/collabstack-backup.service",
		"/etc/systemd/system/collabstack-backup.timer":   "backup/collabstack-backup.timer",
	} {
		text, err := script.RenderFile(tmpl, data)
		if err != nil {
			return nil, err
		}
		out[path] = []byte(text)
	}
	return out, nil
}

// Steps are the backup steps of a site with a backup section: on every
// node restic, its key, the runner and the timer; on each repository's
// host the SFTP login of the nodes; on the manager the repositories'
// initialisation and the copy of the site and secrets files.
func Steps(s *site.Site, hosts []site.Host) ([]engine.Step, error) {
	if s.Backup == nil {
		return nil, nil
	}
	s.BackupDefaults()
	nodes, err := Nodes(hosts)
	if err != nil {
		return nil, err
	}
	mgr := nodes[0].Name
	var steps []engine.Step
	for i, n := range nodes {
		steps = append(steps, setupStep(s, hosts, n.Name, i == 0))
	}
	for _, r := range s.Backup.Repositories {
		if r.Kind == site.RepoGarage {
			steps = append(steps, garageStep(r, nodes))
		}
	}
	for _, r := range s.Backup.Repositories {
		var initNeeds []string
		switch {
		case r.URL != "":
			u, _ := site.ParseSFTPURL(r.URL)
			for _, n := range nodes {
				steps = append(steps, scanStep(r.Name, n.Name, u))
				initNeeds = append(initNeeds, PinID(r.Name, n.Name))
			}
		case r.Host != "":
			var from []site.Host
			for _, n := range nodes {
				if n.Name != r.Host {
					from = append(from, n)
				}
			}
			if len(from) == 0 {
				break
			}
			repoHost, _ := byName(hosts, r.Host)
			steps = append(steps, authorizeStep(r, repoHost, from))
			initNeeds = append(initNeeds, AuthorizeID(r.Name))
			for _, n := range from {
				steps = append(steps, pinStep(r.Name, repoHost, n.Name))
				initNeeds = append(initNeeds, PinID(r.Name, n.Name))
			}
		}
		steps = append(steps, initStep(s, hosts, r.Name, mgr, initNeeds))
	}
	steps = append(steps, siteCopyStep(s, mgr))
	return steps, nil
}

func setupStep(s *site.Site, hosts []site.Host, node string, manager bool) engine.Step {
	data := map[string]any{"Conf": Conf, "State": State, "Schedule": s.Backup.Schedule}
	files := func(env *engine.Env) (map[string][]byte, error) {
		f, err := Files(s, hosts, env.Hosts, node, manager)
		if err != nil {
			return nil, err
		}
		key, err := env.Secrets.Password(KeySecret, 32)
		if err != nil {
			return nil, err
		}
		f[Conf+"/key"] = []byte(key)
		for _, r := range s.Backup.Repositories {
			if !r.S3() {
				continue
			}
			text, err := S3Env(r, env.Secrets.Get)
			if err != nil {
				return nil, err
			}
			f[EnvFileOf(r.Name)] = text
		}
		return f, nil
	}
	sc := script.Step(script.Spec{ID: SetupID(node), Host: node, Title: "Set up backups on " + node, Path: "backup/setup.sh", Data: script.Fixed(data)})
	needs := []string{prepare.ID("docker", node)}
	for _, r := range s.Backup.Repositories {
		if r.Kind == site.RepoGarage {
			needs = append(needs, GarageID(r.Name))
		}
	}
	return &engine.Func{
		StepID: SetupID(node), Name: "Set up backups on " + node + " (restic, key, timer " + s.Backup.Schedule + ")", On: node, Comp: Component,
		Needs: needs,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			f, err := files(env)
			if errors.Is(err, errNoGarageKey) {
				// Made by the Garage step before this one applies.
				env.Logf("%v", err)
				return false, nil
			}
			if err != nil {
				return false, err
			}
			for path, want := range f {
				have, err := env.Host.ReadFile(ctx, path)
				if errors.Is(err, fs.ErrNotExist) || err == nil && !bytes.Equal(have, want) {
					env.Logf("%s is missing or differs", path)
					return false, nil
				}
				if err != nil {
					return false, err
				}
			}
			return sc.Check(ctx, env)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			f, err := files(env)
			if err != nil {
				return err
			}
			if _, err := env.Sudo(ctx, "mkdir -p "+Conf+" "+filepath.Dir(Script)+" && chmod 700 "+Conf); err != nil {
				return err
			}
			for path, content := range f {
				mode := fs.FileMode(0o644)
				if strings.HasPrefix(path, Conf) || path == Script {
					mode = 0o600
				}
				if err := env.Host.Upload(ctx, path, content, mode, "root"); err != nil {
					return err
				}
			}
			return sc.Apply(ctx, env)
		},
	}
}

// authorizeStep lets the nodes' keys log in to the repository host for
// SFTP only.
func authorizeStep(r site.BackupRepository, repoHost site.Host, from []site.Host) engine.Step {
	var needs []string
	for _, n := range from {
		needs = append(needs, SetupID(n.Name))
	}
	needs = append(needs, layout.ReachID(repoHost.Name))
	return script.Step(script.Spec{
		ID: AuthorizeID(r.Name), Title: "Let the backed-up hosts store backups on " + repoHost.Name + " in " + r.Path,
		Host: repoHost.Name, Component: Component, Needs: needs, Path: "backup/authorize.sh",
		Data: func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
			var keys []string
			for _, n := range from {
				h, err := env.Hosts.Get(ctx, n.Name)
				if err != nil {
					return nil, nil, err
				}
				k, err := h.ReadFile(ctx, Conf+"/id_ed25519.pub")
				if errors.Is(err, fs.ErrNotExist) {
					// Its setup has not run yet (a dry run): it will make one.
					k = []byte("(the key " + n.Name + " makes)")
				} else if err != nil {
					return nil, nil, err
				}
				keys = append(keys, strings.TrimSpace(string(k)))
			}
			return map[string]any{"User": RepoUser, "Path": r.Path, "Keys": strings.Join(keys, "\n")}, nil, nil
		},
	})
}

// pinStep trusts the repository host's key on node: the key collabstack
// reads from that host over its own pinned connection.
func pinStep(repoName string, repoHost site.Host, node string) engine.Step {
	return script.Step(script.Spec{
		ID: PinID(repoName, node), Title: "Trust " + repoHost.Name + "'s SSH key for backups from " + node,
		Host: node, Component: Component, Needs: []string{SetupID(node), layout.ReachID(repoHost.Name)}, Path: "backup/pin.sh",
		Data: func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
			h, err := env.Hosts.Get(ctx, repoHost.Name)
			if err != nil {
				return nil, nil, err
			}
			k, err := h.ReadFile(ctx, "/etc/ssh/ssh_host_ed25519_key.pub")
			if err != nil {
				return nil, nil, engine.WithHint(fmt.Errorf("read %s's SSH host key: %w", repoHost.Name, err), "sshd on %s needs an ed25519 host key (ssh-keygen -A)", repoHost.Name)
			}
			f := strings.Fields(string(k))
			if len(f) < 2 {
				return nil, nil, fmt.Errorf("%s's SSH host key is unreadable", repoHost.Name)
			}
			addr, port := address(env.Hosts, repoHost)
			name := addr
			if port != 22 {
				name = "[" + addr + "]:" + fmt.Sprint(port)
			}
			return map[string]any{"Line": name + " " + f[0] + " " + f[1], "Conf": Conf, "Host": repoHost.Name}, nil, nil
		},
	})
}

// scanStep trusts an outside repository host's key on first use, and
// says its fingerprint, which the user compares.
func scanStep(repoName, node string, u site.SFTPURL) engine.Step {
	return script.Step(script.Spec{
		ID: PinID(repoName, node), Title: "Trust " + u.Host + "'s SSH key for backups from " + node,
		Host: node, Component: Component, Needs: []string{SetupID(node)}, Path: "backup/scan.sh",
		Data: script.Fixed(map[string]any{"Host": u.Host, "Port": u.Port, "Conf": Conf}),
	})
}

func initStep(s *site.Site, hosts []site.Host, repoName, mgr string, needs []string) engine.Step {
	return script.Step(script.Spec{
		ID: InitID(repoName), Title: "Create the backup repository " + repoName, Host: mgr, Component: Component,
		Needs: append([]string{SetupID(mgr)}, needs...), Path: "backup/init.sh",
		Data: func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
			repos, err := ReposFor(s, hosts, env.Hosts, mgr)
			if err != nil {
				return nil, nil, err
			}
			for _, r := range repos {
				if r.Name == repoName {
					return map[string]any{"Name": r.Name, "Restic": resticArgs(r)}, nil, nil
				}
			}
			return nil, nil, fmt.Errorf("no repository %s", repoName)
		},
	})
}

// SiteFiles are the site file and the secrets file as they are backed
// up: the site file beside its state directory (<site>.state), or the
// loaded site written out.
func SiteFiles(s *site.Site) (siteFile, secretsFile []byte, err error) {
	secretsFile, err = os.ReadFile(filepath.Join(s.StateDir, "secrets.yaml"))
	if err != nil {
		return nil, nil, fmt.Errorf("read the secrets file: %w", err)
	}
	if p := strings.TrimSuffix(s.StateDir, ".state"); p != s.StateDir {
		if b, err := os.ReadFile(p); err == nil {
			return b, secretsFile, nil
		}
	}
	siteFile, err = s.Marshal()
	return siteFile, secretsFile, err
}

func siteCopyStep(s *site.Site, mgr string) engine.Step {
	return &engine.Func{
		StepID: SiteCopyID, Name: "Copy the site file and the secrets to " + mgr + " for backups", On: mgr, Comp: Component,
		Needs: []string{SetupID(mgr)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			sf, sec, err := SiteFiles(s)
			if err != nil {
				return false, err
			}
			for name, want := range map[string][]byte{"site.yaml": sf, "secrets.yaml": sec} {
				have, err := env.Host.ReadFile(ctx, SiteCopy+"/"+name)
				if err != nil || !bytes.Equal(have, want) {
					return false, nil
				}
			}
			return true, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			sf, sec, err := SiteFiles(s)
			if err != nil {
				return err
			}
			if _, err := env.Sudo(ctx, "mkdir -p "+SiteCopy+" && chmod 700 "+State+" "+SiteCopy); err != nil {
				return err
			}
			if err := env.Host.Upload(ctx, SiteCopy+"/site.yaml", sf, 0o600, "root"); err != nil {
				return err
			}
			return env.Host.Upload(ctx, SiteCopy+"/secrets.yaml", sec, 0o600, "root")
		},
	}
}

// resticArgs is restic with the site's key file and cache and r's
// repository options, as a command's words: scripts quote each word (q),
// and resticCommand joins them for the one-line reads collabstack runs
// itself (list, check, dump). The key is in a 0600 file, never a word.
//
// An S3 repository's keys are in its 0600 environment file: the words
// start with a shell that reads that file (set -a: every assignment is
// exported) and then execs the rest, so no key is a word of any command.
func resticArgs(r Repo) []string {
	var args []string
	if r.EnvFile != "" {
		args = append(args, "sh", "-c", `set -a && . "$0" && set +a && exec "$@"`, r.EnvFile)
	}
	args = append(args, "env", "RESTIC_PASSWORD_FILE="+Conf+"/key", "RESTIC_CACHE_DIR=/var/cache/collabstack-restic", "restic", "-r", r.Repository)
	if r.SSHTarget != "" {
		args = append(args, "-o", fmt.Sprintf("sftp.command=ssh -i %s/id_ed25519 -o UserKnownHostsFile=%s/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -o ServerAliveInterval=30 -p %d %s -s sftp", Conf, Conf, r.Port, r.SSHTarget))
	}
	for _, o := range r.Options {
		args = append(args, "-o", o)
	}
	return args
}

// errNoGarageKey: the Garage step has not made the repository's key yet.
var errNoGarageKey = errors.New("the Garage key of the backup repository is not made yet")

// S3Env is the environment file of an S3 repository: its keys, resolved
// from the secrets file (or the environment), each value quoted for the
// shell that reads the file (restic reads AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_DEFAULT_REGION: cmd/restic/global.go).
func S3Env(r site.BackupRepository, lookup site.SecretLookup) ([]byte, error) {
	var id, secret string
	if r.Kind == site.RepoGarage {
		idName, secretName := site.GarageKeySecrets(r.Name)
		var ok1, ok2 bool
		id, ok1 = lookup(idName)
		secret, ok2 = lookup(secretName)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%w (%s)", errNoGarageKey, r.Name)
		}
	} else {
		var err error
		if id, err = site.ResolveRef(r.AccessKeyRef, lookup); err != nil {
			return nil, engine.WithHint(fmt.Errorf("backup repository %s: access key ID: %w", r.Name, err), "the site file names it in access_key_ref")
		}
		if secret, err = site.ResolveRef(r.SecretKeyRef, lookup); err != nil {
			return nil, engine.WithHint(fmt.Errorf("backup repository %s: secret key: %w", r.Name, err), "the site file names it in secret_key_ref")
		}
	}
	region := r.Region
	if region == "" && r.Kind == site.RepoGarage {
		region = garageRegion
	}
	var b strings.Builder
	b.WriteString("# Managed by collabstack: the S3 keys of the backup repository " + r.Name + ", read by the shell that starts restic.\n")
	fmt.Fprintf(&b, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", host.Quote(id), host.Quote(secret))
	if region != "" {
		fmt.Fprintf(&b, "AWS_DEFAULT_REGION=%s\n", host.Quote(region))
	}
	return []byte(b.String()), nil
}

// resticCommand is resticArgs as one shell command line.
func resticCommand(r Repo) string {
	args := resticArgs(r)
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = host.Quote(a)
	}
	return strings.Join(q, " ")
}
