package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) caCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "ca", Short: "The site's own certificate authority"}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Replace the site's CA with a new one limited to the site's domain and networks",
		Long: `Make a new site CA, name-constrained to the site's domain, its hosts and
its networks, in place of the current one (kept in the secrets file as
site-ca-cert-previous). The next apply re-issues every certificate the CA
signs (the registry's, the edge's). Browsers and hosts that trusted the old
CA must import the new one (site-ca.pem in the state directory); the
nodes of the swarm are made to trust it by the apply.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			path, err := sess.RotateCA()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "New site CA in %s. Run `collabstack apply` to re-issue its certificates, then trust the new CA in your browsers.\n", path)
			return nil
		},
	}
	a.addConfigFlag(rotate)
	cmd.AddCommand(rotate)
	return cmd
}
