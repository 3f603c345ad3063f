package cli

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lifecycle"
)

func (a *app) runbookCommand() *cobra.Command {
	var format, output string
	cmd := &cobra.Command{
		Use:   "runbook",
		Short: "Write the site's runbook: hosts, apps and their admins, backups and restore, failover, firewall, DNS",
		Long: `Write the site's runbook from the live site file: its hosts and their
roles, every app with its URL, its admin account and the names its
passwords are kept under in the secrets file (never the passwords), the
backups and how to restore them, how to fail over, the firewall's table
and the DNS records to create. It is written as Markdown and HTML into the
state directory (runbook.md, runbook.html) after every apply too; this
command writes them now and prints the Markdown (--format html prints the
HTML, -o FILE writes it there).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "markdown" && format != "html" {
				return usageError{fmt.Errorf("--format %q: use markdown or html", format)}
			}
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			d, err := a.runbookData(cmd.Context(), sess)
			if err != nil {
				return err
			}
			md, html, err := lifecycle.RenderRunbook(d)
			if err != nil {
				return err
			}
			if _, _, err := lifecycle.WriteRunbook(sess.StateDir(), d); err != nil {
				return err
			}
			out := md
			if format == "html" {
				out = html
			}
			if output != "" {
				if err := os.WriteFile(output, out, 0o600); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Wrote %s (and %s, %s in %s).\n", output, lifecycle.RunbookMarkdown, lifecycle.RunbookHTML, sess.StateDir())
				return nil
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringVar(&format, "format", "markdown", "what to print: markdown or html")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write it to this file instead of printing it")
	return cmd
}

// runbookData derives the runbook from the session's site and hosts (in
// a lab, its nodes with their addresses when they run).
func (a *app) runbookData(ctx context.Context, sess *install.Session) (*lifecycle.RunbookData, error) {
	hosts := sess.Site.Hosts
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if hs, err := sess.SiteHosts(cctx); err == nil {
		hosts = hs
		for i, h := range hosts {
			if spec, ok := sess.Hosts.Spec(h.Name); ok && spec.Address != "" {
				hosts[i].Address = spec.Address
			}
		}
	}
	return lifecycle.RunbookFor(sess.Site, hosts, sess.Path, Version, time.Now())
}

// writeRunbookQuietly writes the runbook into the state directory after a
// run and says where; a failure to write it is said, never fatal.
func (a *app) writeRunbookQuietly(ctx context.Context, sess *install.Session) {
	if mp, ok := a.writeRunbook(ctx, sess); ok {
		fmt.Fprintf(a.stdout, "The runbook (hosts, apps, admins, backups, firewall, DNS) is in %s and runbook.html beside it.\n", mp)
	}
}

// writeRunbook writes runbook.md and runbook.html into the state
// directory and returns the Markdown's path; false when it could not.
func (a *app) writeRunbook(ctx context.Context, sess *install.Session) (string, bool) {
	d, err := a.runbookData(ctx, sess)
	if err == nil {
		var mp string
		if mp, _, err = lifecycle.WriteRunbook(sess.StateDir(), d); err == nil {
			return mp, true
		}
	}
	fmt.Fprintf(a.stderr, "warning: the runbook was not written: %v\n", sess.Redactor.Error(err))
	return "", false
}
