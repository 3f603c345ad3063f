package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/atomicfile"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lifecycle"
	"github.com/collabstack/collabstack/steps/script"
)

func (a *app) supportBundleCommand() *cobra.Command {
	var output, since string
	var timeout time.Duration
	var tail int
	cmd := &cobra.Command{
		Use:   "support-bundle",
		Short: "Write one archive for someone helping you: versions, site file, journal, status, hosts and logs, secrets redacted",
		Long: `Write one tar.gz archive with what someone helping you needs: the versions,
the site file (secret-like values removed), the names of the secrets (never
their values), the journal, collabstack status --json, and of every host its
OS, disk, memory, Docker, failed units, swarm services and tasks and
Docker's recent log, and the recent logs of every component. Every file
passes through the site's redactor: no secret of the site, nor its hex,
URL or base64 form, is in the archive. It changes nothing on any host.
Hosts that do not answer are listed in errors.txt.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if tail < 1 {
				return usageError{fmt.Errorf("--tail %d: give a number of lines of at least 1", tail)}
			}
			if since != "" && !logSinceRE.MatchString(since) {
				return usageError{fmt.Errorf("--since %q: give a duration such as 30m or 2h, or a date such as 2026-01-31", since)}
			}
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			now := time.Now()
			name := sess.Site.Name
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(sess.Path), filepath.Ext(sess.Path))
			}
			if output == "" {
				output = fmt.Sprintf("collabstack-support-%s-%s.tar.gz", name, now.UTC().Format("20060102-150405"))
			}
			b := a.collectBundle(ctx, sess, now, since, tail, timeout)
			b.Add("README.txt", lifecycle.Readme(name, Version, now, append(b.Names(), "README.txt")))
			var buf bytes.Buffer
			if err := b.WriteTo(&buf, strings.TrimSuffix(filepath.Base(output), ".tar.gz")); err != nil {
				return err
			}
			if err := atomicfile.Write(output, buf.Bytes(), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Wrote %s (%d files, %d KiB, secrets redacted).\n", output, len(b.Names()), (buf.Len()+1023)/1024)
			if e, ok := b.File("errors.txt"); ok {
				fmt.Fprintf(a.stdout, "Not everything could be collected (errors.txt):\n%s", e)
			}
			return nil
		},
	}
	a.addConfigFlag(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "", "the archive to write (default collabstack-support-SITE-TIME.tar.gz here)")
	cmd.Flags().StringVar(&since, "since", "24h", "Docker's log and the components' logs since a duration ago (24h) or a date")
	cmd.Flags().IntVar(&tail, "tail", 200, "how many of the last log lines of each service")
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "how long to try each host")
	return cmd
}

// collectBundle gathers the bundle's files; what fails goes to errors.txt.
func (a *app) collectBundle(ctx context.Context, sess *install.Session, now time.Time, since string, tail int, timeout time.Duration) *lifecycle.Bundle {
	b := lifecycle.NewBundle(sess.Redactor.Redact, now)
	fail := func(format string, args ...any) { b.Addf("errors.txt", format, args...) }
	b.Addf("versions.txt", "collabstack %s\n%s %s/%s\nmade %s", Version, runtime.Version(), runtime.GOOS, runtime.GOARCH, now.UTC().Format(time.RFC3339))
	if data, err := os.ReadFile(sess.Path); err != nil {
		fail("site file: %v", err)
	} else {
		b.Add("site.yaml", lifecycle.ScrubSite(data))
	}
	b.Addf("secrets.txt", "Names of the secrets in %s (the values are not in this bundle):\n  %s", sess.Secrets.Path(), strings.Join(sess.Secrets.Names(), "\n  "))
	if data, err := os.ReadFile(sess.JournalPath()); err != nil {
		fail("journal: %v", err)
	} else {
		b.Add("journal.jsonl", data)
	}
	// status --json, as the status command prints it.
	out, errOut, err := a.subcommand(ctx, (*app).statusCommand, "--json", "--timeout", timeout.String())
	b.Add("status.json", out)
	if err != nil {
		fail("status: %v %s", err, errOut)
	}
	// Every host, at once.
	hosts, err := sess.SiteHosts(ctx)
	if err != nil {
		fail("hosts: %v", err)
	}
	report, err := script.RenderFile("lifecycle/host-report.sh", map[string]any{"Since": journalSince(since)})
	if err != nil {
		fail("host report: %v", err)
	}
	texts := make([]string, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			conn, err := sess.Hosts.Get(cctx, h.Name)
			if err != nil {
				errs[i] = err
				return
			}
			cctx2, cancel2 := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel2()
			var lines []string
			_, errs[i] = conn.Run(cctx2, report, host.RunOpts{Sudo: true, Output: func(l string) { lines = append(lines, l) }})
			texts[i] = strings.Join(lines, "\n") + "\n"
		}()
	}
	wg.Wait()
	for i, h := range hosts {
		if texts[i] != "" {
			b.Add("hosts/"+h.Name+".txt", []byte(fmt.Sprintf("%s (%s, role %s)\n%s", h.Name, h.Address, h.Role, texts[i])))
		}
		if errs[i] != nil {
			fail("host %s: %v", h.Name, errs[i])
		}
	}
	// The components' logs, as the logs command prints them.
	var comps []string
	if m := sess.Model(); m != nil {
		for _, ap := range m.Apps {
			comps = append(comps, ap.Name)
		}
	}
	for c := range sess.Site.Components {
		if c == "kopnik" {
			comps = append(comps, c)
		}
	}
	comps = append(comps, install.SharedStack)
	if len(hosts) > 0 {
		for _, c := range comps {
			args := []string{c, "--tail", fmt.Sprint(tail)}
			if since != "" {
				args = append(args, "--since", since)
			}
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			out, errOut, err := a.subcommand(cctx, (*app).logsCommand, args...)
			cancel()
			if len(out) > 0 {
				b.Add("logs/"+c+".txt", out)
			}
			if err != nil {
				fail("logs of %s: %v %s", c, err, strings.TrimSpace(string(errOut)))
			}
		}
	}
	return b
}

// subcommand runs another command of this CLI on the same site, its
// output captured (the status and logs commands, as they are).
func (a *app) subcommand(ctx context.Context, make func(*app) *cobra.Command, args ...string) ([]byte, []byte, error) {
	var out, errOut bytes.Buffer
	sub := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, plain: true, config: a.config, appCatalog: a.appCatalog, appErr: a.appErr}
	cmd := make(sub)
	cmd.SetArgs(append(args, "--config", a.config))
	cmd.SetIn(strings.NewReader(""))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(ctx)
	return out.Bytes(), errOut.Bytes(), err
}

// journalSince turns a --since duration (24h) into what journalctl reads
// (-24h); dates pass as they are.
func journalSince(since string) string {
	if since == "" {
		return "-24h"
	}
	if strings.ContainsAny(since[len(since)-1:], "smh") && !strings.Contains(since, "-") {
		return "-" + since
	}
	return since
}
