package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lifecycle"
	"github.com/collabstack/collabstack/tui"
)

func (a *app) upgradeCommand() *cobra.Command {
	var check, noBackup, yes bool
	cmd := &cobra.Command{
		Use:   "upgrade [COMPONENT]",
		Short: "Move components onto the images this collabstack pins: backup first, probes after, rolled back when they fail",
		Long: `Compare the image each service of the site runs with the one this
collabstack pins (after you update collabstack, its catalog pins newer
versions) and upgrade what differs: a backup of the site first (its backup
section; --no-backup without one), then the component's stack is deployed
as apply does and must converge and answer its probes. When it does not,
every upgraded service is rolled back to the specification it ran before
(docker service rollback) and the backup's run is named for a restore, in
case the new version changed the data before failing. --check only lists
the pending upgrades.`,
		Example: `  collabstack upgrade --check
  collabstack upgrade etherpad
  collabstack upgrade --yes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var names []string
			if len(args) == 1 {
				if !logNameRE.MatchString(args[0]) {
					return usageError{fmt.Errorf("%q: a component is a lower-case name (collabstack status lists them)", args[0])}
				}
				names = args
			}
			cat, err := a.apps()
			if err != nil {
				return err
			}
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			pinned, owner, err := lifecycle.PinnedImages(cat, sess.Site, names)
			if err != nil {
				return usageError{err}
			}
			mgr, _, err := sess.Manager(ctx)
			if err != nil {
				return err
			}
			changes, err := pendingUpgrades(ctx, mgr, pinned, owner)
			if err != nil {
				return sess.Redactor.Error(err)
			}
			if len(changes) == 0 {
				fmt.Fprintln(a.stdout, "Nothing to upgrade: every service runs the image this collabstack pins.")
				return nil
			}
			fmt.Fprintln(a.stdout, "Pending upgrades:")
			var services []string
			for _, c := range changes {
				fmt.Fprintf(a.stdout, "  %s\n", c)
				services = append(services, c.Service)
			}
			if check {
				return nil
			}
			if !yes && a.interactive() {
				fmt.Fprint(a.stdout, "Upgrade them? [y/N] ")
				line, _ := bufio.NewReader(a.stdin).ReadString('\n')
				if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
					return usageError{errors.New("not confirmed; nothing was changed")}
				}
			}
			backedUp := false
			switch {
			case sess.Site.Backup != nil:
				if err := a.backupNow(ctx, sess); err != nil {
					return fmt.Errorf("the backup before the upgrade failed, so nothing was upgraded: %w", err)
				}
				backedUp = true
			case !noBackup:
				return usageError{errors.New("the site has no backup section, so a failed upgrade that changed the data could not be undone: add one (docs/operations.md) and run collabstack backup, or pass --no-backup; nothing was changed")}
			}
			comps := lifecycle.Components(changes)
			_, runErr := sess.Run(ctx, install.RunOptions{Only: comps, Emit: tui.PlainPrinter(a.stdout), Command: "upgrade " + strings.Join(comps, ",")})
			if runErr == nil {
				// Proven, not assumed: every service now runs its pinned image.
				left, err := pendingUpgrades(ctx, mgr, pinned, owner)
				switch {
				case err != nil:
					runErr = fmt.Errorf("read the images the services run after the upgrade: %w", err)
				case len(left) > 0:
					runErr = fmt.Errorf("after the deploy, %s", left[0])
				}
			}
			if runErr == nil {
				fmt.Fprintf(a.stdout, "Upgraded %s: the services run the pinned images, converged, and the probes pass.\n", strings.Join(comps, ", "))
				a.writeRunbookQuietly(ctx, sess)
				return nil
			}
			if ctx.Err() != nil {
				return runErr
			}
			fmt.Fprintf(a.stdout, "The upgrade failed: rolling %s back to what they ran before\n", strings.Join(services, ", "))
			if err := lifecycle.RollBack(ctx, mgr, services, func(l string) { fmt.Fprintf(a.stdout, "  | %s\n", sess.Redactor.Redact(l)) }); err != nil {
				fmt.Fprintf(a.stdout, "The rollback failed too: %v\n", sess.Redactor.Error(err))
			} else {
				fmt.Fprintln(a.stdout, "Rolled back: the services run their previous images again.")
			}
			if backedUp {
				fmt.Fprintln(a.stdout, "If the new version changed the data before it failed, restore the backup made just before (its run is named above): collabstack restore --run RUN --yes")
			}
			fmt.Fprintln(a.stdout, "A later apply deploys the pinned version again: fix what the failure says first, or keep the previous collabstack until then.")
			return runErr
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVar(&check, "check", false, "only list the pending upgrades")
	cmd.Flags().BoolVar(&noBackup, "no-backup", false, "upgrade a site without a backup section")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "go ahead without asking")
	return cmd
}

// pendingUpgrades compares the images this collabstack pins with what the
// swarm on mgr runs: what `upgrade` would deploy (and `plan` lists).
func pendingUpgrades(ctx context.Context, mgr host.Host, pinned, owner map[string]string) ([]lifecycle.Change, error) {
	running, err := lifecycle.RunningImages(ctx, mgr)
	if err != nil {
		return nil, err
	}
	return lifecycle.Pending(pinned, owner, running), nil
}
