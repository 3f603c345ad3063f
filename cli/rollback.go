package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/proxmox"
	"github.com/collabstack/collabstack/steps/site"
)

func (a *app) rollbackCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback VM",
		Short: "Return a VM to its last collabstack snapshot (topologies single and full)",
		Long: `collabstack takes a snapshot of each VM once it is ready and of each router
VM before its configuration. rollback returns the VM to the newest of them
through the Proxmox VE API and restarts it if it was running. It deletes
nothing: disks attached after the snapshot stay on the VM as unused disks.
Run apply afterwards to redo what the snapshot undid.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			if sess.Site.Topology != site.TopologySingle && sess.Site.Topology != site.TopologyFull {
				return usageError{fmt.Errorf("rollback is for VMs on Proxmox VE (topologies single and full); this site is %s", sess.Site.Topology)}
			}
			logf := func(format string, args ...any) { fmt.Fprintf(a.stdout, format+"\n", args...) }
			snap, err := proxmox.Rollback(cmd.Context(), sess.Site, sess.StateDir(), sess.Secrets, args[0], logf)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s is back at snapshot %s. Run `collabstack apply --config %s` to set it up again from there.\n", args[0], snap, a.config)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	return cmd
}
