package cli

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/script"
)

var (
	logNameRE  = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	logSinceRE = regexp.MustCompile(`^([0-9]+(s|m|h)|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?)$`)
)

func (a *app) logsCommand() *cobra.Command {
	var follow bool
	var since string
	var tail int
	cmd := &cobra.Command{
		Use:   "logs COMPONENT [SERVICE]",
		Short: "Show a component's service logs from the swarm, secrets redacted",
		Long: `Show the logs of a component's services (every service of it, or the one
named) from the swarm manager over SSH, with every secret of the site
redacted. COMPONENT is a component of the site file (an app, kopnik) or
"shared" (the registry and Portainer); SERVICE is a service of its stack,
as collabstack status lists them (etherpad_etherpad is service etherpad).`,
		Example: `  collabstack logs etherpad
  collabstack logs kopnik node --since 10m
  collabstack logs nextcloud nextcloud --follow`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			comp, service := args[0], ""
			if len(args) == 2 {
				service = args[1]
			}
			if !logNameRE.MatchString(comp) || (service != "" && !logNameRE.MatchString(service)) {
				return usageError{fmt.Errorf("%q: a component and a service are lower-case names (collabstack status lists them)", args)}
			}
			if since != "" && !logSinceRE.MatchString(since) {
				return usageError{fmt.Errorf("--since %q: give a duration such as 30m or 2h, or a date such as 2026-01-31 or 2026-01-31T12:00:00Z", since)}
			}
			if tail < 1 {
				return usageError{fmt.Errorf("--tail %d: give a number of lines of at least 1", tail)}
			}
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			if _, ok := sess.Site.Components[comp]; !ok && comp != install.SharedStack {
				if _, ok := appOf(sess, comp); !ok {
					return usageError{fmt.Errorf("%q is not a component of %s (collabstack status lists them)", comp, a.config)}
				}
			}
			mgr, _, err := sess.Manager(cmd.Context())
			if err != nil {
				return err
			}
			text, err := script.RenderFile("health/logs.sh", map[string]any{"Stack": comp, "Service": service, "Tail": strconv.Itoa(tail), "Since": since, "Follow": follow})
			if err != nil {
				return err
			}
			// The transport redacts every line before it reaches Output.
			_, err = mgr.Run(cmd.Context(), text, host.RunOpts{Sudo: true, Output: func(line string) { fmt.Fprintln(a.stdout, line) }})
			if err != nil && cmd.Context().Err() != nil {
				return nil // Ctrl-C ends --follow
			}
			return err
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until Ctrl-C")
	cmd.Flags().StringVar(&since, "since", "", "only lines since a duration ago (30m, 2h) or a date")
	cmd.Flags().IntVar(&tail, "tail", 100, "how many of the last lines of each task")
	return cmd
}

// appOf finds a chosen app (or one a chosen app requires) of the session.
func appOf(sess *install.Session, name string) (string, bool) {
	m := sess.Model()
	if m == nil {
		return "", false
	}
	a, ok := m.App(name)
	return a.Title, ok
}
