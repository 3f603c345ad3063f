package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/lab"
)

func (a *app) labCommand() *cobra.Command {
	var o lab.Options
	var sitePath, stateDir string
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Run a lab of containers that boot like servers, on this machine",
		Long: `The lab topology: containers with systemd, sshd and dockerd that stand in
for real hosts, on their own docker network. It needs a local dockerd.
'collabstack apply' on a lab site file brings the lab up by itself; these
commands manage it by hand.`,
	}
	up := &cobra.Command{
		Use:   "up",
		Short: "Start the lab nodes and write a ready site file for them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Nodes < 1 || o.Nodes > 9 {
				return usageError{fmt.Errorf("--nodes %d: use 1 to 9", o.Nodes)}
			}
			abs, err := filepath.Abs(stateDir)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(abs, 0o700); err != nil {
				return err
			}
			o.StateDir = abs
			o.Out = func(line string) { fmt.Fprintln(a.stdout, line) }
			nodes, err := lab.Up(cmd.Context(), o)
			if err != nil {
				return err
			}
			if _, err := os.Stat(sitePath); err == nil {
				fmt.Fprintf(a.stdout, "The lab runs; %s exists and was left as it is.\n", sitePath)
				return nil
			}
			if err := lab.WriteSite(sitePath, nodes, o, lab.SiteOptions{}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "The lab runs. Site file for it: %s\nNext: collabstack apply --config %s\n", sitePath, sitePath)
			return nil
		},
	}
	up.Flags().IntVar(&o.Nodes, "nodes", 2, "how many nodes (lab-1 is the swarm manager)")
	up.Flags().StringVar(&o.Network, "network", "", "the lab's docker network (default collabstack-lab)")
	up.Flags().StringVar(&sitePath, "site", "lab-hosts.yaml", "where to write the site file for the nodes")
	up.Flags().StringVar(&stateDir, "state", "lab-hosts.state", "the state directory (lab keys, secrets, journal)")

	var volumes, yes bool
	down := &cobra.Command{
		Use:   "down",
		Short: "Remove the lab nodes (and, after asking, their volumes)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Out = func(line string) { fmt.Fprintln(a.stdout, line) }
			if volumes && !yes {
				if !a.interactive() {
					return usageError{fmt.Errorf("--volumes deletes the data of the lab's services: add --yes to confirm")}
				}
				fmt.Fprint(a.stdout, "Delete the lab's volumes too, with all the data of its services? [y/N] ")
				line, _ := bufio.NewReader(a.stdin).ReadString('\n')
				if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
					volumes = false
					fmt.Fprintln(a.stdout, "Keeping the volumes.")
				}
			}
			if err := lab.Down(cmd.Context(), o, volumes); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "The lab is down.")
			return nil
		},
	}
	down.Flags().StringVar(&o.Network, "network", "", "the lab's docker network (default collabstack-lab)")
	down.Flags().BoolVar(&volumes, "volumes", false, "also delete the nodes' volumes (asks first)")
	down.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask")
	cmd.AddCommand(up, down)
	return cmd
}
