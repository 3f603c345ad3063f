package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/install"
)

// unhealthyError is status's answer when a host, a component or a probe
// is not well: exit code 1 (ExitFailed), so cron or monitoring notices.
type unhealthyError struct{ what []string }

func (e unhealthyError) Error() string {
	return "not healthy: " + strings.Join(e.what, "; ")
}

// statusJSON is `status --json`.
type statusJSON struct {
	Site       string                    `json:"site"`
	Topology   string                    `json:"topology"`
	Healthy    bool                      `json:"healthy"`
	Hosts      []hostJSON                `json:"hosts"`
	Components []install.ComponentHealth `json:"components"`
	HealthErr  string                    `json:"components_error,omitempty"`
	LastRun    *runJSON                  `json:"last_run,omitempty"`
}

type hostJSON struct {
	Name       string `json:"name"`
	Address    string `json:"address"`
	Role       string `json:"role,omitempty"`
	Reachable  bool   `json:"reachable"`
	Error      string `json:"error,omitempty"`
	OS         string `json:"os,omitempty"`
	MemoryMB   int    `json:"memory_mb,omitempty"`
	MemFreeMB  int    `json:"memory_free_mb,omitempty"`
	DiskFreeGB int    `json:"disk_free_gb,omitempty"`
}

type runJSON struct {
	Command  string    `json:"command"`
	Started  time.Time `json:"started"`
	Finished bool      `json:"finished"`
	Status   string    `json:"status"`
	Failed   []string  `json:"failed,omitempty"`
}

func (a *app) statusCommand() *cobra.Command {
	var timeout, probeTimeout time.Duration
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the hosts, every component's services and probes, and the last run",
		Long: `Show every host (reachable, OS, free disk and RAM), every component with
its services (tasks running of desired, failures in the last hour) and its
probe (a page through the edge, a port, a command in its container), and the
last run. Exit code 1 when anything is not healthy, so it can run from cron
or a monitoring system; --json prints the same for scripts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			st, err := sess.Status(cmd.Context(), timeout, probeTimeout)
			if err != nil {
				return err
			}
			var bad []string
			for _, h := range st.Hosts {
				if h.Err != nil {
					bad = append(bad, h.Name+" unreachable")
				}
			}
			for _, c := range st.Components {
				if !c.Healthy {
					bad = append(bad, c.Name+": "+c.Problem)
				}
			}
			if st.HealthErr != nil {
				bad = append(bad, "components not read: "+st.HealthErr.Error())
			}
			for _, f := range st.Failed {
				bad = append(bad, f+": its last step failed")
			}
			if asJSON {
				out := statusJSON{Site: sess.Site.Name, Topology: string(sess.Site.Topology), Healthy: st.Healthy(), Components: st.Components}
				for _, h := range st.Hosts {
					hj := hostJSON{Name: h.Name, Address: h.Address, Role: h.Role, Reachable: h.Err == nil}
					if h.Err != nil {
						hj.Error = h.Err.Error()
					} else {
						hj.OS, hj.MemoryMB, hj.MemFreeMB, hj.DiskFreeGB = h.Facts.OSPretty, h.Facts.MemoryMB, h.Facts.MemFreeMB, h.Facts.DiskFreeGB
					}
					out.Hosts = append(out.Hosts, hj)
				}
				if st.HealthErr != nil {
					out.HealthErr = st.HealthErr.Error()
				}
				if r := st.LastRun; r != nil {
					rj := &runJSON{Command: r.Command, Started: r.Started, Finished: r.Finished, Status: r.Status}
					for _, f := range r.Failed {
						rj.Failed = append(rj.Failed, f.Title+": "+f.Error)
					}
					out.LastRun = rj
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
				if len(bad) > 0 {
					return unhealthyError{bad}
				}
				return nil
			}
			fmt.Fprintf(a.stdout, "Site %s (%s), state in %s\n\nHosts:\n", sess.Site.Name, sess.Site.Topology, sess.StateDir())
			for _, h := range st.Hosts {
				if h.Err != nil {
					fmt.Fprintf(a.stdout, "  ✗ %-12s %-16s %-10s unreachable: %v\n", h.Name, h.Address, h.Role, h.Err)
				} else {
					fmt.Fprintf(a.stdout, "  ✓ %-12s %-16s %-10s up: %s, %d MB RAM free\n", h.Name, h.Address, h.Role, h.Facts, h.Facts.MemFreeMB)
				}
			}
			if len(st.Hosts) == 0 {
				fmt.Fprintln(a.stdout, "  (none yet)")
			}
			if len(st.Components) > 0 || st.HealthErr != nil {
				fmt.Fprintln(a.stdout, "\nComponents:")
				printComponents(a, st.Components)
				if st.HealthErr != nil {
					fmt.Fprintf(a.stdout, "  ✗ could not read them: %v\n", st.HealthErr)
				}
			} else {
				fmt.Fprintf(a.stdout, "\nComponents deployed: %s\n", orNone(st.Deployed))
			}
			if len(st.Failed) > 0 {
				fmt.Fprintf(a.stdout, "Components whose last step failed: %s\n", strings.Join(st.Failed, ", "))
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
			if len(bad) > 0 {
				return unhealthyError{bad}
			}
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to try each host")
	cmd.Flags().DurationVar(&probeTimeout, "probe-timeout", 2*time.Minute, "how long reading the services and running the probes may take")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

// printComponents lists each component with its services and probes.
func printComponents(a *app, comps []install.ComponentHealth) {
	for _, c := range comps {
		mark := "✓"
		if !c.Healthy {
			mark = "✗"
		}
		line := fmt.Sprintf("  %s %-14s", mark, c.Name)
		if c.URL != "" {
			line += " " + c.URL
		}
		if c.Problem != "" {
			line += "  — " + c.Problem
		}
		fmt.Fprintln(a.stdout, line)
		for _, s := range c.Services {
			l := fmt.Sprintf("      %-28s %d/%d running", s.Name, s.Running, s.Desired)
			if s.Restarts > 0 {
				l += fmt.Sprintf(", %d failed tasks in the last hour", s.Restarts)
			}
			fmt.Fprintln(a.stdout, l)
		}
		for _, p := range c.Probes {
			m := "✓"
			if !p.OK {
				m = "✗"
			}
			fmt.Fprintf(a.stdout, "      %s %s: %s\n", m, p.Probe, p.Detail)
		}
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// probeSummary runs every component's probes once more for the end of an
// apply: one line per component, ✓ or ✗ with its URL and what answered
// or why not. Nothing when the site has no components to probe, nor
// when they cannot be read after a failed run (no manager yet).
func probeSummary(ctx context.Context, sess *install.Session, runFailed bool) []string {
	pctx, cancel := context.WithTimeout(ctx, install.ProbeTimeout)
	defer cancel()
	comps, err := sess.Health(pctx)
	if err != nil {
		if runFailed {
			return nil
		}
		return []string{"✗ the components could not be checked: " + err.Error()}
	}
	var out []string
	for _, c := range comps {
		mark, why := "✓", ""
		for _, p := range c.Probes {
			if why == "" || !p.OK {
				why = p.Detail
			}
		}
		if !c.Healthy {
			mark, why = "✗", c.Problem
		}
		line := mark + " " + c.Title
		if c.URL != "" {
			line += " " + c.URL
		}
		if why != "" {
			line += " — " + why
		}
		out = append(out, line)
	}
	return out
}
