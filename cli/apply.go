package cli

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/tui"
)

func (a *app) applyCommand() *cobra.Command {
	var only []string
	var yes bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Run the plan: install what is missing, resume an interrupted install",
		Long: `Run the plan of the site file. Every step first checks the live state of
its host and does only what is missing, so apply is safe to repeat: after a
failure or Ctrl-C, run it again and it resumes where it stopped; after adding
a component to the site file, run it again and it adds just that.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			if !yes && a.interactive() {
				fmt.Fprintf(a.stdout, "Apply %s (%s, %d hosts) with state in %s? [y/N] ", a.config, sess.Site.Topology, len(sess.Site.Hosts), sess.StateDir())
				line, _ := bufio.NewReader(a.stdin).ReadString('\n')
				if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
					return usageError{fmt.Errorf("not confirmed; nothing was changed")}
				}
			}
			command := "apply"
			if len(only) > 0 {
				command += " --only " + strings.Join(only, ",")
			}
			if a.interactive() {
				// The run view; it prints the URLs or how to resume itself.
				sess.Close()
				b := newBackend(a)
				b.only, b.command = only, command
				_, err := tui.RunApply(cmd.Context(), tui.Options{Backend: b, SitePath: a.config, In: a.stdin, Out: a.stdout}, a.config)
				return err
			}
			sum, err := sess.Run(cmd.Context(), install.RunOptions{Only: only, Emit: tui.PlainPrinter(a.stdout), Command: command})
			if cmd.Context().Err() == nil {
				if lines := probeSummary(cmd.Context(), sess, err != nil); len(lines) > 0 {
					fmt.Fprintln(a.stdout, "Checked as a user would:")
					for _, l := range lines {
						fmt.Fprintf(a.stdout, "  %s\n", l)
					}
				}
			}
			if err == nil {
				if sum.Changed == 0 {
					fmt.Fprintf(a.stdout, "Nothing to change: all %d steps were already done.\n", sum.Unchanged)
				} else {
					fmt.Fprintf(a.stdout, "Done: %d steps changed, %d already done, in %s.\n", sum.Changed, sum.Unchanged, sum.Elapsed.Round(1e8))
				}
				for _, u := range sess.URLs() {
					fmt.Fprintf(a.stdout, "Open %s\n", u)
				}
				if ports := sess.PortNotes(); len(ports) > 0 {
					fmt.Fprintln(a.stdout, "Ports besides HTTP(S) (`collabstack dns check` lists them with the router's forwards):")
					for _, p := range ports {
						fmt.Fprintf(a.stdout, "  %s\n", p)
					}
				}
				if note := sess.TrustNote(); note != "" {
					fmt.Fprintln(a.stdout, note)
				}
				if notes := sess.AdminNotes(); len(notes) > 0 {
					fmt.Fprintln(a.stdout, "Admin accounts:")
					for _, n := range notes {
						fmt.Fprintf(a.stdout, "  %s\n", n)
					}
				}
				fmt.Fprintf(a.stdout, "Secrets are in %s/%s (mode 0600).\n", sess.StateDir(), install.SecretsFile)
				a.writeRunbookQuietly(cmd.Context(), sess)
			}
			return err
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringSliceVar(&only, "only", nil, "apply only these components (and what they need)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
