package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/standby"
	"github.com/collabstack/collabstack/tui"
)

func (a *app) failoverCommand() *cobra.Command {
	var yes, planned bool
	cmd := &cobra.Command{
		Use:   "failover",
		Short: "Make kopnik's standby server the main one (after losing the main server)",
		Long: `Promote the standby's database, make the standby the site's manager in
the site file (the old main server becomes the standby), deploy kopnik
there on the promoted data and the copied upload folder, and say which
DNS record to change. Refuses while the main server still answers, unless
--planned: then kopnik is stopped on the main server first, so no write
is lost. Afterwards, once the old main server is back, run failback.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			start := time.Now()
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			sb, ok := standby.Host(sess.Site.Hosts)
			if !ok || sess.Site.Topology != site.TopologyKopnik {
				return usageError{errors.New("failover needs a kopnik site with a host of role standby")}
			}
			mgr, _ := hostWithRole(sess.Site.Hosts, site.RoleManager)
			if !yes {
				return usageError{fmt.Errorf("failover makes %s the main server and rewrites %s: add --yes to go ahead", sb.Name, a.config)}
			}
			cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			mh, err := sess.Hosts.Get(cctx, mgr.Name)
			if err == nil {
				_, err = mh.Run(cctx, "docker info --format ok", host.RunOpts{Sudo: true})
			}
			cancel()
			switch {
			case err == nil && !planned:
				return usageError{fmt.Errorf("the main server %s still answers: a failover now would leave two main servers. Stop it first, or pass --planned to stop kopnik there and switch with no write lost", mgr.Name)}
			case err == nil:
				fmt.Fprintf(a.stdout, "Stopping kopnik on %s\n", mgr.Name)
				if _, err := mh.Run(ctx, "docker stack rm kopnik && sleep 15", host.RunOpts{Sudo: true}); err != nil {
					return err
				}
			default:
				fmt.Fprintf(a.stdout, "The main server %s does not answer (%v): failing over to %s\n", mgr.Name, sess.Redactor.Error(err), sb.Name)
			}
			sh, err := sess.Hosts.Get(ctx, sb.Name)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Promoting the standby database on %s\n", sb.Name)
			if err := standby.Promote(ctx, sh, func(l string) { fmt.Fprintf(a.stdout, "  %s | %s\n", sb.Name, sess.Redactor.Redact(l)) }); err != nil {
				return sess.Redactor.Error(err)
			}
			if err := swapRoles(a.config, mgr.Name, sb.Name); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s now names %s as the manager and %s as the standby\n", a.config, sb.Name, mgr.Name)
			sess.Close()
			sess2, err := a.open()
			if err != nil {
				return err
			}
			defer sess2.Close()
			if _, err := sess2.Run(ctx, install.RunOptions{Only: []string{kopnik.Component}, Emit: tui.PlainPrinter(a.stdout), Command: "failover"}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "kopnik runs on %s, %s after the failover began.\n", sb.Name, time.Since(start).Round(time.Second))
			fmt.Fprintf(a.stdout, "Change the DNS: the A records of %s and www.%s must point at %s (they pointed at %s).\n", sess2.Site.Domain, sess2.Site.Domain, sb.Address, mgr.Address)
			fmt.Fprintf(a.stdout, "Once %s is back, `collabstack failback` makes it the new standby.\n", mgr.Name)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "go ahead without asking")
	cmd.Flags().BoolVar(&planned, "planned", false, "the main server answers: stop kopnik there first and switch")
	return cmd
}

func (a *app) failbackCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "failback",
		Short: "Rebuild the old main server as kopnik's new standby after a failover",
		Long: `After a failover, once the old main server runs again: it leaves its
old swarm, its old database volume is removed (its data is older than
the promoted standby's), and apply makes it the new standby: it joins the
swarm, copies the database from the new main server and streams from it,
and receives the upload folder every minute. To move kopnik back later,
run failover --planned at a quiet hour.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			sb, ok := standby.Host(sess.Site.Hosts)
			if !ok {
				return usageError{errors.New("failback needs a kopnik site with a host of role standby")}
			}
			if !yes {
				return usageError{fmt.Errorf("failback removes the old database on %s: add --yes to go ahead", sb.Name)}
			}
			h, err := sess.Hosts.Get(ctx, sb.Name)
			if err != nil {
				return err
			}
			out := func(l string) { fmt.Fprintf(a.stdout, "  %s | %s\n", sb.Name, sess.Redactor.Redact(l)) }
			if _, err := h.Run(ctx, `if [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ]; then docker swarm leave --force; fi
for i in $(seq 30); do docker ps -q -f volume=kopnik_db-data | grep -q . || break; sleep 2; done
docker volume rm kopnik_db-data 2>/dev/null || true`, host.RunOpts{Sudo: true, Output: out}); err != nil {
				return err
			}
			if _, err := sess.Run(ctx, install.RunOptions{Emit: tui.PlainPrinter(a.stdout), Command: "failback"}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s is the standby again.\n", sb.Name)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "go ahead without asking")
	return cmd
}

func hostWithRole(hosts []site.Host, role string) (site.Host, bool) {
	for _, h := range hosts {
		if h.Role == role {
			return h, true
		}
	}
	return site.Host{}, false
}

// swapRoles rewrites the site file so that newMain is the manager and
// oldMain the standby, keeping the file's comments and order.
func swapRoles(path, oldMain, newMain string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return err
	}
	root := doc.Content[0]
	var hosts *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "hosts" {
			hosts = root.Content[i+1]
		}
	}
	if hosts == nil {
		return fmt.Errorf("%s has no hosts", path)
	}
	for _, h := range hosts.Content {
		name, role := "", (*yaml.Node)(nil)
		for i := 0; i+1 < len(h.Content); i += 2 {
			switch h.Content[i].Value {
			case "name":
				name = h.Content[i+1].Value
			case "role":
				role = h.Content[i+1]
			case "labels":
				// Placement labels follow the role: defaults apply again.
				h.Content = append(h.Content[:i], h.Content[i+2:]...)
				i -= 2
			}
		}
		if role == nil {
			continue
		}
		switch name {
		case oldMain:
			role.Value = site.RoleStandby
		case newMain:
			role.Value = site.RoleManager
		}
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".before-failover", data, 0o600); err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o600)
}

// printStandbyStatus adds kopnik's replication (pg_stat_replication on the
// main database) and the upload folder's last copy to `status`.
func (a *app) printStandbyStatus(ctx context.Context, sess *install.Session, timeout time.Duration) {
	sb, ok := standby.Host(sess.Site.Hosts)
	mgr, okm := hostWithRole(sess.Site.Hosts, site.RoleManager)
	if !ok || !okm {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	line, last := "unknown: main server unreachable", "unknown"
	if h, err := sess.Hosts.Get(cctx, mgr.Name); err == nil {
		if r, err := standby.Replication(cctx, h); err != nil {
			line = "unknown: " + sess.Redactor.Redact(err.Error())
		} else if r == "" {
			line = "NOT STREAMING: no standby is connected to the main database"
		} else {
			line = r
		}
		if b, err := h.ReadFile(cctx, standby.State+"/last-sync"); err == nil {
			last = string(b)
		} else {
			last = "never"
		}
	}
	fmt.Fprintf(a.stdout, "Standby %s: replication %s; upload folder last copied %s\n", sb.Name, line, last)
}
