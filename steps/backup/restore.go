package backup

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

// RestoreOptions say what to restore from where.
type RestoreOptions struct {
	// Repository is the name of the repository to restore from ("" is
	// the first).
	Repository string
	// Run is the run tag (`backup list`); "" is each node's latest.
	Run string
	// Out gets progress lines.
	Out func(node, line string)
}

// SecretsFromBackup reads the secrets file kept in the manager's backup.
func SecretsFromBackup(ctx context.Context, s *site.Site, hosts []site.Host, inv *engine.Inventory, o RestoreOptions) ([]byte, error) {
	nodes, err := Nodes(hosts)
	if err != nil {
		return nil, err
	}
	mgr := nodes[0].Name
	r, err := pick(s, hosts, inv, mgr, o.Repository)
	if err != nil {
		return nil, err
	}
	h, err := inv.Get(ctx, mgr)
	if err != nil {
		return nil, err
	}
	sel := "latest --host " + host.Quote(mgr) + " --tag collabstack"
	if o.Run != "" {
		sel += " --tag " + host.Quote("run="+o.Run)
	}
	out, err := h.Run(ctx, resticCommand(r)+" dump "+sel+" "+SiteCopy+"/secrets.yaml", host.RunOpts{Sudo: true})
	if err != nil {
		return nil, engine.WithHint(fmt.Errorf("read the secrets file from the backup in %s: %w", r.Name, err), "check the backup key (secret %s) and that `collabstack backup list` shows a backup of %s", KeySecret, mgr)
	}
	return []byte(out), nil
}

func pick(s *site.Site, hosts []site.Host, inv *engine.Inventory, node, name string) (Repo, error) {
	repos, err := ReposFor(s, hosts, inv, node)
	if err != nil {
		return Repo{}, err
	}
	if len(repos) == 0 {
		return Repo{}, fmt.Errorf("the site file has no backup repository")
	}
	if name == "" {
		return repos[0], nil
	}
	for _, r := range repos {
		if r.Name == name {
			return r, nil
		}
	}
	return Repo{}, fmt.Errorf("no backup repository is called %q", name)
}

// Restore puts every node's volumes, data folders and databases back from
// the backup, on a site whose services are deployed (run apply first):
// it stops the services that use the files, restores the files, loads
// the database dumps into the running database services and starts the
// services again. Apply afterwards proves them (converged, probes).
func Restore(ctx context.Context, s *site.Site, hosts []site.Host, inv *engine.Inventory, o RestoreOptions) error {
	nodes, err := Nodes(hosts)
	if err != nil {
		return err
	}
	say := func(node, format string, args ...any) {
		if o.Out != nil {
			o.Out(node, fmt.Sprintf(format, args...))
		}
	}
	run := func(ctx context.Context, node, phase string) (string, error) {
		r, err := pick(s, hosts, inv, node, o.Repository)
		if err != nil {
			return "", err
		}
		text, err := script.Render("backup/restore.sh", map[string]any{"Node": node, "Name": r.Name, "State": State, "Run": o.Run, "Restic": resticArgs(r)})
		if err != nil {
			return "", err
		}
		h, err := inv.Get(ctx, node)
		if err != nil {
			return "", err
		}
		out, err := h.Run(ctx, text, host.RunOpts{Sudo: true, Env: map[string]string{"MODE": "apply", "PHASE": phase}, Output: func(l string) { say(node, "%s", l) }})
		if err != nil {
			return "", fmt.Errorf("restore %s (%s): %w", node, phase, err)
		}
		return out, nil
	}
	dbs := map[string]bool{}
	for _, n := range nodes {
		out, err := run(ctx, n.Name, "fetch")
		if err != nil {
			return engine.WithHint(err, "check that `collabstack backup list` shows a backup of %s", n.Name)
		}
		for _, svc := range strings.Fields(out) {
			dbs[svc] = true
		}
	}
	mgr, err := inv.Get(ctx, nodes[0].Name)
	if err != nil {
		return err
	}
	scaled, err := stopServices(ctx, mgr, dbs)
	if err != nil {
		return err
	}
	say(nodes[0].Name, "stopped %d services while their files are restored", len(scaled))
	restart := func() error {
		if len(scaled) == 0 {
			return nil
		}
		var args []string
		for _, svc := range sortedKeys(scaled) {
			args = append(args, host.Quote(fmt.Sprintf("%s=%d", svc, scaled[svc])))
		}
		_, err := mgr.Run(ctx, "docker service scale --detach "+strings.Join(args, " "), host.RunOpts{Sudo: true})
		return err
	}
	for _, n := range nodes {
		if _, err := run(ctx, n.Name, "files"); err != nil {
			restart()
			return err
		}
	}
	for _, n := range nodes {
		if _, err := run(ctx, n.Name, "db"); err != nil {
			restart()
			return err
		}
	}
	if err := restart(); err != nil {
		return fmt.Errorf("start the services again: %w", err)
	}
	say(nodes[0].Name, "started %d services again", len(scaled))
	return nil
}

// stopServices scales every replicated service but the databases to 0
// and returns how many replicas each had.
func stopServices(ctx context.Context, mgr host.Host, dbs map[string]bool) (map[string]int, error) {
	out, err := mgr.Run(ctx, "docker service ls --format '{{.Name}} {{.Mode}} {{.Replicas}}'", host.RunOpts{Sudo: true})
	if err != nil {
		return nil, err
	}
	scaled := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[1] != "replicated" || dbs[f[0]] {
			continue
		}
		var running, want int
		if _, err := fmt.Sscanf(f[2], "%d/%d", &running, &want); err != nil || want == 0 {
			continue
		}
		scaled[f[0]] = want
	}
	if len(scaled) == 0 {
		return scaled, nil
	}
	var args []string
	for _, svc := range sortedKeys(scaled) {
		args = append(args, host.Quote(svc+"=0"))
	}
	// Without --detach, docker waits until the tasks have stopped.
	if _, err := mgr.Run(ctx, "docker service scale "+strings.Join(args, " ")+" >/dev/null", host.RunOpts{Sudo: true}); err != nil {
		return nil, fmt.Errorf("stop the services before restoring: %w", err)
	}
	return scaled, nil
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
