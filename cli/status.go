package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) statusCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the hosts, the deployed components and the last run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			st, err := sess.Status(cmd.Context(), timeout)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Site %s (%s), state in %s\n\nHosts:\n", sess.Site.Name, sess.Site.Topology, sess.StateDir())
			for _, h := range st.Hosts {
				if h.Err != nil {
					fmt.Fprintf(a.stdout, "  %-12s %-16s %-10s unreachable: %v\n", h.Name, h.Address, h.Role, h.Err)
				} else {
					fmt.Fprintf(a.stdout, "  %-12s %-16s %-10s up: %s\n", h.Name, h.Address, h.Role, h.Facts)
				}
			}
			if len(st.Hosts) == 0 {
				fmt.Fprintln(a.stdout, "  (none yet)")
			}
			fmt.Fprintf(a.stdout, "\nComponents deployed: %s\n", orNone(st.Deployed))
			if len(st.Failed) > 0 {
				fmt.Fprintf(a.stdout, "Components failed:   %s\n", strings.Join(st.Failed, ", "))
			}
			r := st.LastRun
			switch {
			case r == nil:
				fmt.Fprintln(a.stdout, "Last run: none")
			case !r.Finished:
				fmt.Fprintf(a.stdout, "Last run: %s started %s and was interrupted: run apply to resume\n", r.Command, r.Started.Local().Format(time.DateTime))
			default:
				fmt.Fprintf(a.stdout, "Last run: %s at %s: %s\n", r.Command, r.Started.Local().Format(time.DateTime), r.Status)
				for _, f := range r.Failed {
					fmt.Fprintf(a.stdout, "  failed: %s: %s\n", f.Title, f.Error)
				}
			}
			a.printBackupStatus(cmd.Context(), sess, timeout)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to try each host")
	return cmd
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
