package cli

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

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/backup"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/tui"
)

// keyShownFile marks, in the state directory, that the backup key was
// shown to the user once.
const keyShownFile = "backup-key-shown"

var errNoBackup = usageError{errors.New("the site file has no backup section; add one, such as:\n  backup:\n    repositories:\n      - {host: standby, path: /var/backups/collabstack}\n(docs/operations.md says more)")}

func (a *app) backupCommand() *cobra.Command {
	var now bool
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Set up the scheduled backups, or back up now (--now)",
		Long: `Set up the site's backups as its backup section says: restic on every
swarm node, the repositories, the key, and a systemd timer with the
retention policy. With --now, also back every node up at once, showing
progress and what was added. The first time, the backup key is shown:
store it offline; without it no backup can be read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.openBackup()
			if err != nil {
				return err
			}
			defer sess.Close()
			ctx := cmd.Context()
			if err := a.setUpBackups(ctx, sess, "backup"); err != nil {
				return err
			}
			a.showKeyOnce(sess)
			for _, r := range sess.Site.Backup.Repositories {
				if r.Kind == site.RepoGarage {
					fmt.Fprintf(a.stdout, "Note: the repository %s is in this site's Garage: %s.\n", r.Name, backup.GarageNotOffsite)
				}
			}
			if !now {
				fmt.Fprintf(a.stdout, "Backups run on schedule (%s); `collabstack backup --now` runs one now.\n", sess.Site.Backup.Schedule)
				return nil
			}
			return a.backupNow(ctx, sess)
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVar(&now, "now", false, "back up every node now")
	cmd.AddCommand(a.backupListCommand(), a.backupCheckCommand(), a.backupKeyCommand())
	return cmd
}

// openBackup opens a site that has a backup section.
func (a *app) openBackup() (*install.Session, error) {
	sess, err := a.open()
	if err != nil {
		return nil, err
	}
	if sess.Site.Backup == nil {
		sess.Close()
		return nil, errNoBackup
	}
	return sess, nil
}

func (a *app) setUpBackups(ctx context.Context, sess *install.Session, command string) error {
	_, err := sess.Run(ctx, install.RunOptions{Only: []string{backup.Component}, Emit: tui.PlainPrinter(a.stdout), Command: command})
	return err
}

// showKeyOnce prints the backup key the first time only; it goes to the
// terminal, never through the engine's events or the journal.
func (a *app) showKeyOnce(sess *install.Session) {
	marker := filepath.Join(sess.StateDir(), keyShownFile)
	if _, err := os.Stat(marker); err == nil {
		return
	}
	key, ok := sess.Secrets.Get(backup.KeySecret)
	if !ok {
		return
	}
	fmt.Fprintf(a.stdout, "\nThe backup key (shown this once; `collabstack backup key` shows it again):\n\n    %s\n\n"+
		"Store it offline (on paper, in a password manager): the backups cannot be read without it,\n"+
		"and after losing this machine it is what `collabstack restore --key-file` needs.\n\n", key)
	os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600)
}

// bar draws one node's progress: a bar on a terminal, a line per quarter
// otherwise.
type bar struct {
	a    *app
	mu   sync.Mutex
	last map[string]int
}

func (b *bar) show(node string, done float64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	pct := int(done * 100)
	if b.a.interactive() {
		n := pct / 5
		fmt.Fprintf(b.a.stdout, "\r  %-10s [%s%s] %3d%%", node, strings.Repeat("#", n), strings.Repeat(" ", 20-n), pct)
		return
	}
	if q := pct / 25; q > b.last[node] {
		b.last[node] = q
		fmt.Fprintf(b.a.stdout, "  %s: %d%%\n", node, q*25)
	}
}

func (a *app) backupNow(ctx context.Context, sess *install.Session) error {
	hosts, err := sess.SiteHosts(ctx)
	if err != nil {
		return err
	}
	nodes, err := backup.Nodes(hosts)
	if err != nil {
		return err
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	tag := backup.RunTag(time.Now())
	fmt.Fprintf(a.stdout, "Backing up %s (run %s)\n", strings.Join(names, ", "), tag)
	b := &bar{a: a, last: map[string]int{}}
	out := func(node, line string) {
		if a.interactive() {
			fmt.Fprint(a.stdout, "\r")
		}
		fmt.Fprintf(a.stdout, "  %s | %s\n", node, sess.Redactor.Redact(line))
	}
	figs, err := backup.Now(ctx, sess.Hosts, names, tag, b.show, out)
	if a.interactive() {
		fmt.Fprintln(a.stdout)
	}
	var total int64
	for _, f := range figs {
		total += f.DataAdded
		fmt.Fprintf(a.stdout, "  %-10s snapshot %s: %d new, %d changed, %d unchanged files; %s scanned, %s added, in %s\n",
			f.Node, f.Snapshot, f.FilesNew, f.FilesChanged, f.FilesSame, backup.Size(f.BytesScanned), backup.Size(f.DataAdded), f.Duration.Round(time.Second))
	}
	if err != nil {
		return sess.Redactor.Error(err)
	}
	fmt.Fprintf(a.stdout, "Backup %s done: %s added to the repositories.\n", tag, backup.Size(total))
	return nil
}

func (a *app) backupListCommand() *cobra.Command {
	var repoName string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the backups (runs) in a repository",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.openBackup()
			if err != nil {
				return err
			}
			defer sess.Close()
			ctx := cmd.Context()
			mgr, r, err := a.managerRepo(ctx, sess, repoName)
			if err != nil {
				return err
			}
			snaps, err := backup.List(ctx, mgr, r)
			if err != nil {
				return engine.WithHint(sess.Redactor.Error(err), "run `collabstack backup` first: it sets up restic and the repositories")
			}
			runs := map[string][]backup.Snapshot{}
			var order []string
			for _, s := range snaps {
				t := s.RunTagOf()
				if _, ok := runs[t]; !ok {
					order = append(order, t)
				}
				runs[t] = append(runs[t], s)
			}
			sort.Slice(order, func(i, j int) bool { return runs[order[i]][0].Time.Before(runs[order[j]][0].Time) })
			fmt.Fprintf(a.stdout, "Backups in %s:\n", r.Name)
			for _, t := range order {
				var hs []string
				for _, s := range runs[t] {
					hs = append(hs, s.Host+" "+s.ID)
				}
				fmt.Fprintf(a.stdout, "  run %-16s %s  %s\n", t, runs[t][0].Time.Local().Format(time.DateTime), strings.Join(hs, ", "))
			}
			if len(order) == 0 {
				fmt.Fprintln(a.stdout, "  (none yet: `collabstack backup --now` makes one)")
			}
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringVar(&repoName, "repository", "", "the repository (default: the first)")
	return cmd
}

func (a *app) managerRepo(ctx context.Context, sess *install.Session, name string) (host.Host, backup.Repo, error) {
	hosts, err := sess.SiteHosts(ctx)
	if err != nil {
		return nil, backup.Repo{}, err
	}
	nodes, err := backup.Nodes(hosts)
	if err != nil {
		return nil, backup.Repo{}, err
	}
	repos, err := backup.ReposFor(sess.Site, hosts, sess.Hosts, nodes[0].Name)
	if err != nil {
		return nil, backup.Repo{}, err
	}
	r := repos[0]
	if name != "" {
		found := false
		for _, x := range repos {
			if x.Name == name {
				r, found = x, true
			}
		}
		if !found {
			return nil, r, usageError{fmt.Errorf("--repository %q: the site's repositories are %s", name, repoNames(repos))}
		}
	}
	mgr, err := sess.Hosts.Get(ctx, nodes[0].Name)
	return mgr, r, err
}

func repoNames(rs []backup.Repo) string {
	var n []string
	for _, r := range rs {
		n = append(n, r.Name)
	}
	return strings.Join(n, ", ")
}

func (a *app) backupCheckCommand() *cobra.Command {
	var repoName string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check a repository: its structure and a tenth of its data (restic check), the newest database dumps, and a test restore of one into a scratch container",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.openBackup()
			if err != nil {
				return err
			}
			defer sess.Close()
			ctx := cmd.Context()
			mgr, r, err := a.managerRepo(ctx, sess, repoName)
			if err != nil {
				return err
			}
			out := func(l string) { fmt.Fprintf(a.stdout, "  %s\n", sess.Redactor.Redact(l)) }
			scratch := func(ctx context.Context, node string) (host.Host, backup.Repo, error) {
				hosts, err := sess.SiteHosts(ctx)
				if err != nil {
					return nil, backup.Repo{}, err
				}
				repos, err := backup.ReposFor(sess.Site, hosts, sess.Hosts, node)
				if err != nil {
					return nil, backup.Repo{}, err
				}
				for _, x := range repos {
					if x.Name == r.Name {
						h, err := sess.Hosts.Get(ctx, node)
						return h, x, err
					}
				}
				return nil, backup.Repo{}, fmt.Errorf("%s has no repository %s", node, r.Name)
			}
			if err := backup.Check(ctx, mgr, r, scratch, out); err != nil {
				return sess.Redactor.Error(err)
			}
			fmt.Fprintf(a.stdout, "The repository %s is sound.\n", r.Name)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringVar(&repoName, "repository", "", "the repository (default: the first)")
	return cmd
}

func (a *app) backupKeyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Show the backup key again (to store it offline)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.openBackup()
			if err != nil {
				return err
			}
			defer sess.Close()
			key, ok := sess.Secrets.Get(backup.KeySecret)
			if !ok {
				return usageError{errors.New("no backup key yet: `collabstack backup` makes one")}
			}
			fmt.Fprintln(a.stdout, key)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	return cmd
}

func (a *app) restoreCommand() *cobra.Command {
	var o backup.RestoreOptions
	var keyFile string
	var yes bool
	cmd := &cobra.Command{
		Use:   "restore",
		Short: "Restore the site from a backup: onto the same hosts or new ones",
		Long: `Restore the site from its backup. On new hosts (another lab, another
provider) give the site file with their addresses and the backup key
(--key-file): collabstack reads the secrets from the backup, installs
everything the site file names, stops the services, puts the volumes,
data folders and databases back, starts them and checks that they work
(apply's checks and probes).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.openBackup()
			if err != nil {
				return err
			}
			defer sess.Close()
			ctx := cmd.Context()
			if keyFile != "" {
				k, err := os.ReadFile(keyFile)
				if err != nil {
					return usageError{fmt.Errorf("--key-file: %w", err)}
				}
				if err := sess.Secrets.Set(backup.KeySecret, strings.TrimSpace(string(k))); err != nil {
					return err
				}
			} else if _, ok := sess.Secrets.Get(backup.KeySecret); !ok {
				return usageError{errors.New("this machine has no backup key for the site: give the one you stored with --key-file FILE")}
			}
			if !yes {
				return usageError{errors.New("restore replaces the site's data with the backup's: add --yes to go ahead")}
			}
			fmt.Fprintln(a.stdout, "Setting up restic to read the backup")
			if err := a.setUpBackups(ctx, sess, "restore: backup set-up"); err != nil {
				return err
			}
			hosts, err := sess.SiteHosts(ctx)
			if err != nil {
				return err
			}
			data, err := backup.SecretsFromBackup(ctx, sess.Site, hosts, sess.Hosts, o)
			if err != nil {
				return sess.Redactor.Error(err)
			}
			n, err := mergeSecrets(sess, data)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Took %d secrets from the backup.\nInstalling what is missing\n", n)
			if _, err := sess.Run(ctx, install.RunOptions{Emit: tui.PlainPrinter(a.stdout), Command: "restore: apply"}); err != nil {
				return err
			}
			hosts, _ = sess.SiteHosts(ctx)
			o.Out = func(node, line string) { fmt.Fprintf(a.stdout, "  %s | %s\n", node, sess.Redactor.Redact(line)) }
			fmt.Fprintln(a.stdout, "Restoring volumes, folders and databases")
			if err := backup.Restore(ctx, sess.Site, hosts, sess.Hosts, o); err != nil {
				return sess.Redactor.Error(err)
			}
			fmt.Fprintln(a.stdout, "Checking that everything works")
			if _, err := sess.Run(ctx, install.RunOptions{Emit: tui.PlainPrinter(a.stdout), Command: "restore: check"}); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "Restored: every service converged and passed its checks.")
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringVar(&o.Run, "run", "", "the backup run to restore, as backup list names it (default: the newest)")
	cmd.Flags().StringVar(&o.Repository, "repository", "", "the repository to restore from (default: the first)")
	cmd.Flags().StringVar(&keyFile, "key-file", "", "a file holding the backup key (on a new machine)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "replace the site's data without asking")
	return cmd
}

// mergeSecrets takes the backup's secrets, except the logins of the hosts
// (the site file's password references: new hosts have their own), the
// S3 repositories' keys (those that just read the backup) and the
// swarm's tokens (a new swarm has new ones).
func mergeSecrets(sess *install.Session, data []byte) (int, error) {
	var vals map[string]string
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return 0, fmt.Errorf("the secrets file in the backup is damaged: %w", err)
	}
	keep := map[string]bool{backup.KeySecret: true}
	for _, h := range sess.Site.Hosts {
		keep[h.Auth.PasswordRef] = true
		keep[h.SudoPasswordRef] = true
	}
	// The S3 keys that read the backup are the user's current ones.
	for _, r := range sess.Site.Backup.Repositories {
		keep[r.AccessKeyRef] = true
		keep[r.SecretKeyRef] = true
	}
	n := 0
	for name, v := range vals {
		if keep[name] || strings.HasPrefix(name, "swarm-") {
			continue
		}
		if old, ok := sess.Secrets.Get(name); ok && old == v {
			continue
		}
		if err := sess.Secrets.Set(name, v); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// printBackupStatus adds each node's last backup to `status`; a failed
// or missing backup is said plainly.
func (a *app) printBackupStatus(ctx context.Context, sess *install.Session, timeout time.Duration) {
	a.printStandbyStatus(ctx, sess, timeout)
	if sess.Site.Backup == nil {
		fmt.Fprintln(a.stdout, "Backups: none configured (add a backup section to the site file; docs/operations.md)")
		return
	}
	hosts, err := sess.SiteHosts(ctx)
	if err != nil {
		fmt.Fprintf(a.stdout, "Backups: unknown (%v)\n", sess.Redactor.Error(err))
		return
	}
	nodes, err := backup.Nodes(hosts)
	if err != nil {
		return
	}
	fmt.Fprintln(a.stdout, "Backups:")
	for _, n := range nodes {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		line := "unknown: host unreachable"
		if h, err := sess.Hosts.Get(cctx, n.Name); err == nil {
			if l, err := backup.LastResult(cctx, h); err == nil {
				line = l.String()
			} else {
				line = "unknown: " + sess.Redactor.Redact(err.Error())
			}
		}
		cancel()
		fmt.Fprintf(a.stdout, "  %-12s %s\n", n.Name, line)
	}
}
