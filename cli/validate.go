package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/site"
)

func (a *app) validateCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a site file without touching any host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := site.Load(a.config, a.catalog())
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
