package cli

import (
	"fmt"
	"os"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/journal"
)

func (a *app) appsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apps",
		Short: "List the components you can deploy, with their category, RAM and state in your site",
		Long: `Lists the app catalog (templates/apps in the binary): every component
with its category, the RAM it needs, its license, and, when --config names a
site file that exists, whether the site has it deployed. Add one under
components: in the site file and run apply: only it (and what it needs) is
deployed. docs/apps.md describes each app.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.apps()
			if err != nil {
				return err
			}
			state := map[string]string{}
			if _, err := os.Stat(a.config); err == nil {
				sess, err := a.open()
				if err != nil {
					return err
				}
				defer sess.Close()
				for name := range sess.Site.Components {
					state[name] = "chosen"
				}
				if recs, err := journal.Read(sess.JournalPath()); err == nil {
					deployed, failed := install.ComponentStates(recs)
					for _, n := range deployed {
						state[n] = "deployed"
					}
					for _, n := range failed {
						state[n] = "failed"
					}
				}
			}
			all := c.Apps()
			sort.SliceStable(all, func(i, j int) bool {
				if all[i].Category != all[j].Category {
					return all[i].Category < all[j].Category
				}
				return all[i].Name < all[j].Name
			})
			tw := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCATEGORY\tRAM\tLICENSE\tSTATE")
			for _, ap := range all {
				lic := ap.License.SPDX
				if ap.License.OpenCore {
					lic += " (open core)"
				}
				st := state[ap.Name]
				if st == "" {
					st = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", ap.Name, ap.Category, mb(ap.Resources.RAMMB), lic, st)
			}
			tw.Flush()
			fmt.Fprintf(a.stdout, "\n%d apps. Add one under components: in %s and run `collabstack apply`.\n", len(all), a.config)
			return nil
		},
	}
	a.addConfigFlag(cmd)
	return cmd
}

func mb(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%.1f GB", float64(n)/1024)
	}
	return fmt.Sprintf("%d MB", n)
}
