package cli

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/network"
	"github.com/collabstack/collabstack/steps/site"
)

func (a *app) dnsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "dns", Short: "Public DNS records of the site"}
	var resolver string
	check := &cobra.Command{
		Use:   "check",
		Short: "List the public records to create (A, AAAA, MX) and say which are missing or wrong",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := site.Load(a.config, a.catalog())
			if err != nil {
				return err
			}
			var r network.Resolver = net.DefaultResolver
			if resolver != "" {
				r = network.ResolverAt(resolver)
			}
			recs, err := network.DNSCheck(cmd.Context(), s, r)
			if err != nil {
				return err
			}
			bad := 0
			for _, rec := range recs {
				fmt.Fprintln(a.stdout, rec)
				if rec.Fix != "" {
					bad++
					fmt.Fprintf(a.stdout, "    fix: %s\n", rec.Fix)
				}
			}
			ports, err := network.PortLines(s)
			if err != nil {
				return err
			}
			if len(ports) > 0 {
				fmt.Fprintln(a.stdout, "Ports besides HTTP(S), at the names above:")
				for _, l := range ports {
					fmt.Fprintf(a.stdout, "  %s\n", l)
				}
			}
			if bad > 0 {
				return fmt.Errorf("%d DNS records need attention at your DNS provider (see above)", bad)
			}
			fmt.Fprintln(a.stdout, "All public records are in place.")
			return nil
		},
	}
	a.addConfigFlag(check)
	check.Flags().StringVar(&resolver, "resolver", "", "ask this DNS server (host:port) instead of the system's")
	cmd.AddCommand(check)
	return cmd
}
