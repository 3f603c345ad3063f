package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/install"
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
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringSliceVar(&only, "only", nil, "limit to these components (and what they need)")
	return cmd
}
