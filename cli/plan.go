package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lifecycle"
)

func (a *app) planCommand() *cobra.Command {
	var only []string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show every step with its host and state, changing nothing",
		Long:  "Show every step of the plan with its host and its state: done, to do, or unknown when its host cannot be reached. The state is read from the live hosts; nothing is changed.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.openReadOnly()
			if err != nil {
				return err
			}
			defer sess.Close()
			rows := map[string]engine.Event{}
			sum, err := sess.Run(cmd.Context(), install.RunOptions{DryRun: true, Only: only, Emit: func(e engine.Event) {
				if e.Kind == engine.StepPlanned {
					rows[e.Step] = e
				}
			}})
			if err != nil {
				return err
			}
			p, _ := sess.Plan()
			if len(only) > 0 {
				p, _ = p.Only(only...)
			}
			for _, id := range p.Order() {
				e := rows[id]
				state := "done"
				switch {
				case e.Unknown:
					state = "unknown"
				case e.Changed:
					state = "to do"
				}
				h := e.Host
				if h == "" {
					h = "-"
				}
				fmt.Fprintf(a.stdout, "%-8s %-14s %s\n", state, h, e.Title)
				if e.Unknown && e.Line != "" {
					fmt.Fprintf(a.stdout, "         %14s (%s)\n", "", e.Line)
				}
			}
			fmt.Fprintf(a.stdout, "\n%d to do, %d done, %d unknown\n", sum.Changed, sum.Unchanged, sum.Unknown)
			a.printPendingUpgrades(cmd.Context(), sess, only)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringSliceVar(&only, "only", nil, "limit to these components (and what they need)")
	return cmd
}

// printPendingUpgrades lists the services whose running image is not the
// one this collabstack pins (what `collabstack upgrade` would deploy),
// limited to the components of only when given; when the manager or its
// swarm cannot be read yet, it says so in one line.
func (a *app) printPendingUpgrades(ctx context.Context, sess *install.Session, only []string) {
	cat, err := a.apps()
	if err != nil {
		return
	}
	pinned, owner, err := lifecycle.PinnedImages(cat, sess.Site, nil)
	if err != nil {
		fmt.Fprintf(a.stdout, "Pending upgrades: unknown (%v)\n", sess.Redactor.Error(err))
		return
	}
	mgr, _, err := sess.Manager(ctx)
	var changes []lifecycle.Change
	if err == nil {
		changes, err = pendingUpgrades(ctx, mgr, pinned, owner)
	}
	if err != nil {
		fmt.Fprintf(a.stdout, "Pending upgrades: unknown until the swarm runs (%s)\n", strings.SplitN(sess.Redactor.Error(err).Error(), "\n", 2)[0])
		return
	}
	var shown []lifecycle.Change
	for _, c := range changes {
		if len(only) == 0 || slices.Contains(only, c.Component) {
			shown = append(shown, c)
		}
	}
	if len(shown) == 0 {
		fmt.Fprintln(a.stdout, "Pending upgrades: none (every service runs the image this collabstack pins)")
		return
	}
	fmt.Fprintln(a.stdout, "Pending upgrades (collabstack upgrade deploys them, after a backup):")
	for _, c := range shown {
		fmt.Fprintf(a.stdout, "  %s\n", c)
	}
}
