package cli

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lifecycle"
	"github.com/collabstack/collabstack/tui"
)

func (a *app) removeCommand() *cobra.Command {
	var purge, yes bool
	cmd := &cobra.Command{
		Use:   "remove COMPONENT",
		Short: "Remove a component: its stack, vhost, DNS names and firewall openings; its data stays unless --purge",
		Long: `Remove a component from the site: the site file stops listing it (the
file as it was is kept as FILE.before-remove, comments and order stay),
its stack leaves the swarm, and the plan runs again so the edge no longer
serves its name, the split DNS no longer answers it and the firewall no
longer opens its ports. Apps only it required go too. Its volumes and its
database stay: add it to the site file again and apply, and its data is
back. --purge also drops its database and removes its volumes on every
node, after you type the component's name (--yes skips that, for scripts).
Refused, naming them, while another chosen component needs it.`,
		Example: `  collabstack remove adminer
  collabstack remove etherpad --purge
  collabstack remove etherpad --purge --yes   # in scripts`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			comp := args[0]
			if !logNameRE.MatchString(comp) {
				return usageError{fmt.Errorf("%q: a component is a lower-case name (collabstack status lists them)", comp)}
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
			r, err := lifecycle.PlanRemove(sess.Site, cat, comp)
			var refused *lifecycle.RefusedError
			switch {
			case errors.As(err, &refused), errors.Is(err, lifecycle.ErrNotAComponent):
				return usageError{fmt.Errorf("%w; nothing was changed", err)}
			case err != nil:
				return err
			}
			if !r.InSite {
				// Not in the site file: a remove that stopped after rewriting
				// it leaves a stack behind; anything else is a mistake.
				mgr, _, err := sess.Manager(ctx)
				if err != nil {
					return err
				}
				if ok, err := lifecycle.StackExists(ctx, mgr, comp); err != nil {
					return err
				} else if !ok && !purge {
					return usageError{fmt.Errorf("%q is not a component of %s and no stack of that name runs; nothing was changed", comp, a.config)}
				}
			}
			if len(r.Orphans) > 0 {
				fmt.Fprintf(a.stdout, "Only %s needs %s: they are removed too (their data stays).\n", comp, strings.Join(r.Orphans, ", "))
			}
			in := bufio.NewReader(a.stdin)
			switch {
			case purge && !yes:
				what := "its volumes on every node"
				if r.Database != nil {
					what = "its database " + r.Database.Name + " on " + r.Database.Engine + " and " + what
				}
				fmt.Fprintf(a.stdout, "remove --purge deletes %s: its data is gone for good (a backup keeps what it saved).\nType %s to go ahead: ", what, comp)
				line, _ := in.ReadString('\n')
				if strings.TrimSpace(line) != comp {
					return usageError{fmt.Errorf("you typed %q, not %q: not confirmed; nothing was changed", strings.TrimSpace(line), comp)}
				}
			case !yes && a.interactive():
				fmt.Fprintf(a.stdout, "Remove %s from %s? Its data stays. [y/N] ", comp, a.config)
				line, _ := in.ReadString('\n')
				if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
					return usageError{errors.New("not confirmed; nothing was changed")}
				}
			}
			say := func(l string) { fmt.Fprintln(a.stdout, l) }
			if err := lifecycle.Remove(ctx, sess, cat, r, lifecycle.RemoveOptions{Purge: purge, Out: say}); err != nil {
				return err
			}
			sess.Close()
			// The plan of the site without it: the edge, DNS and firewall
			// are derived from the site file, so they follow.
			sess2, err := a.open()
			if err != nil {
				return err
			}
			defer sess2.Close()
			fmt.Fprintln(a.stdout, "Running the plan of the site without it (edge, DNS, firewall, backups)")
			if _, err := sess2.Run(ctx, install.RunOptions{Emit: tui.PlainPrinter(a.stdout), Command: "remove " + comp}); err != nil {
				return err
			}
			a.writeRunbookQuietly(ctx, sess2)
			if purge {
				fmt.Fprintf(a.stdout, "%s is removed with its data.\n", comp)
			} else {
				fmt.Fprintf(a.stdout, "%s is removed; its data stays. To bring it back, add it under components in %s and run apply.\n", comp, a.config)
			}
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVar(&purge, "purge", false, "also drop its database and remove its volumes (asks you to type its name)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "go ahead without asking (with --purge: without typing the name)")
	return cmd
}

// lifecycleCommands are the commands of the site's life after install.
func (a *app) lifecycleCommands() []*cobra.Command {
	return []*cobra.Command{a.removeCommand(), a.supportBundleCommand(), a.runbookCommand(), a.upgradeCommand()}
}
