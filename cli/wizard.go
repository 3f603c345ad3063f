package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/tui"
)

// runWizard asks for a site (full screen on a terminal, line by line with
// --plain, --accessible or without a terminal), writes it and runs it.
func (a *app) runWizard(ctx context.Context, accessible bool) error {
	_, err := tui.RunWizard(ctx, tui.Options{
		Backend: newBackend(a), SitePath: a.config, In: a.stdin, Out: a.stdout,
		Plain: a.plain, Accessible: accessible,
	})
	if errors.Is(err, tui.ErrAborted) {
		return fmt.Errorf("%w: nothing was written", context.Canceled)
	}
	return err
}

func (a *app) wizardCommand() *cobra.Command {
	var accessible bool
	cmd := &cobra.Command{
		Use:   "wizard",
		Short: "Answer questions to write a site file and install it (what collabstack alone runs on a terminal)",
		Long: `The wizard asks for the topology, the hosts (and tests the connection,
showing each host key to confirm), the domain, the components with their
RAM and disk budget, shows the plan, writes the site file (mode 0600) and
runs it with live progress. Found an earlier site file and journal, it
offers to resume, add components, or start anew.

On a terminal it is full-screen; with --plain, --accessible (for screen
readers) or without a terminal it asks the same questions line by line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runWizard(cmd.Context(), accessible)
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVar(&accessible, "accessible", false, "line-by-line questions for screen readers")
	return cmd
}
