package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/examples"
)

func (a *app) initCommand() *cobra.Command {
	var topology, output string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Print a commented example site file",
		Long:  "Print a commented example site file for a topology: lab (containers on this machine), kopnik (existing Linux hosts), single (one Proxmox VE box) or full (router box + server).",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := examples.Site(topology)
			if err != nil {
				return usageError{err}
			}
			if output == "" {
				_, err = a.stdout.Write(data)
				return err
			}
			if _, err := os.Stat(output); err == nil {
				return usageError{fmt.Errorf("%s exists: choose another --output or remove it first", output)}
			}
			if err := os.WriteFile(output, data, 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "wrote %s: edit it, then run `collabstack apply --config %s`\n", output, output)
			return nil
		},
	}
	cmd.Flags().StringVarP(&topology, "topology", "t", "lab", "lab, kopnik, single or full")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file (0600) instead of standard output")
	return cmd
}
