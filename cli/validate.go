package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/install"
)

func (a *app) validateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a site file without touching any host",
		Long:  "Check a site file as plan does before it reaches a host: every field, key files, the secrets it names, app options, budgets and the plan itself. It creates and changes nothing.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := install.Check(a.config, install.Options{Catalog: a.catalog()})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: valid (topology %s, %d hosts, %d components)\n", a.config, s.Topology, len(s.Hosts), len(s.Components))
			return nil
		},
	}
	a.addConfigFlag(cmd)
	return cmd
}
