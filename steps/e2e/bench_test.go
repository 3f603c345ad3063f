package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/ssh"
)

// busyClock measures the wall time during which at least one remote
// operation is in flight: what is left of an apply is collabstack's own
// overhead (planning, checks' logic, journal, scheduling).
type busyClock struct {
	mu       sync.Mutex
	inflight int
	since    time.Time
	busy     time.Duration
}

func (c *busyClock) start() {
	c.mu.Lock()
	if c.inflight == 0 {
		c.since = time.Now()
	}
	c.inflight++
	c.mu.Unlock()
}

func (c *busyClock) stop() {
	c.mu.Lock()
	c.inflight--
	if c.inflight == 0 {
		c.busy += time.Since(c.since)
	}
	c.mu.Unlock()
}

func (c *busyClock) take() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.busy
	c.busy = 0
	return b
}

type timedHost struct {
	host.Host
	c *busyClock
}

func (t timedHost) Run(ctx context.Context, cmd string, o host.RunOpts) (string, error) {
	t.c.start()
	defer t.c.stop()
	return t.Host.Run(ctx, cmd, o)
}

func (t timedHost) Upload(ctx context.Context, p string, d []byte, m fs.FileMode, owner string) error {
	t.c.start()
	defer t.c.stop()
	return t.Host.Upload(ctx, p, d, m, owner)
}

// RoundTrips passes the transport's count through the wrapper, so the
// inventory still sees it.
func (t timedHost) RoundTrips() int64 {
	if rt, ok := t.Host.(interface{ RoundTrips() int64 }); ok {
		return rt.RoundTrips()
	}
	return 0
}

func (t timedHost) ReadFile(ctx context.Context, p string) ([]byte, error) {
	t.c.start()
	defer t.c.stop()
	return t.Host.ReadFile(ctx, p)
}

// BenchmarkKopnikLab: a fresh install of the kopnik preset on a 2-node lab,
// split into waiting on remote commands and collabstack's own overhead,
// then the no-op re-run. Run with: go test -run XXX -bench KopnikLab -benchtime 1x ./steps/e2e/
func BenchmarkKopnikLab(b *testing.B) {
	needDocker(b)
	ctx := context.Background()
	server := gitRepo(b, fakeServerFiles)
	client := gitRepo(b, fakeClientFiles)
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		sitePath := filepath.Join(dir, "site.yaml")
		os.WriteFile(sitePath, []byte(fmt.Sprintf(`version: 1
topology: lab
domain: kopnik.test
admin_email: admin@kopnik.test
lab: {nodes: 2, network: cs-bench-%d, image: docker}
prepare: {node: distro}
components:
  kopnik:
    options: {server_repo: %s, server_ref: master, client_repo: %s, client_ref: master}
`, os.Getpid()%100000, server, client)), 0o600)
		clock := &busyClock{}
		timed := func(known string, redact func(string) string) (engine.Dialer, error) {
			d, err := ssh.DialerFor(known, redact)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context, spec host.Spec, inv *engine.Inventory) (host.Host, error) {
				h, err := d(ctx, spec, inv)
				if err != nil {
					return nil, err
				}
				return timedHost{Host: h, c: clock}, nil
			}, nil
		}
		sess, err := install.Open(sitePath, install.Options{Dialer: timed})
		if err != nil {
			b.Fatal(err)
		}
		lo := lab.OptionsFor(sess.Site, sess.StateDir())
		start := time.Now()
		if _, err := sess.Run(ctx, install.RunOptions{Command: "apply"}); err != nil {
			b.Fatal(err)
		}
		fresh, waited := time.Since(start), clock.take()
		tripsBefore := sess.Hosts.RoundTrips()
		var steps []stepTime
		start = time.Now()
		sum, err := sess.Run(ctx, install.RunOptions{Command: "apply", Emit: func(e engine.Event) {
			if e.Kind == engine.StepDone || e.Kind == engine.StepFailed {
				steps = append(steps, stepTime{e.Step, e.Host, e.Elapsed})
			}
		}})
		if err != nil || sum.Changed != 0 {
			b.Fatalf("no-op re-run: %+v %v", sum, err)
		}
		noop, noopWaited := time.Since(start), clock.take()
		printNoop(b, steps, tripsBefore, sess.Hosts.RoundTrips())
		// Every component's services and probes, one round trip (what
		// status and the end of an apply add).
		start = time.Now()
		comps, err := sess.Health(ctx)
		if err != nil {
			b.Fatal(err)
		}
		probe := time.Since(start)
		for _, c := range comps {
			if !c.Healthy {
				b.Errorf("%s is not healthy: %s", c.Name, c.Problem)
			}
		}
		sess.Close()
		lab.Down(ctx, lo, true)
		b.ReportMetric(fresh.Seconds(), "fresh-s")
		b.ReportMetric(waited.Seconds(), "fresh-remote-s")
		b.ReportMetric((fresh - waited).Seconds(), "fresh-overhead-s")
		b.ReportMetric(noop.Seconds(), "noop-rerun-s")
		b.ReportMetric((noop - noopWaited).Seconds(), "noop-overhead-s")
		b.ReportMetric(probe.Seconds(), "probe-s")
		b.Logf("fresh install %.1fs: %.1fs waiting on remote commands, %.1fs collabstack's own; no-op re-run %.1fs (%.2fs own); status's services and probes %.2fs", fresh.Seconds(), waited.Seconds(), (fresh - waited).Seconds(), noop.Seconds(), (noop - noopWaited).Seconds(), probe.Seconds())
	}
}

type stepTime struct {
	id, host string
	took     time.Duration
}

// printNoop prints the no-op re-run's slowest steps and the SSH round
// trips each host took (issue 23: regressions show here, not in a timed
// assertion).
func printNoop(b *testing.B, steps []stepTime, before, after map[string]int64) {
	b.Helper()
	sort.Slice(steps, func(i, j int) bool { return steps[i].took > steps[j].took })
	var out strings.Builder
	fmt.Fprintf(&out, "no-op re-run: %d steps; the slowest:\n", len(steps))
	for i, s := range steps {
		if i == 15 {
			break
		}
		fmt.Fprintf(&out, "  %8.3fs  %-12s %s\n", s.took.Seconds(), s.host, s.id)
	}
	hosts := make([]string, 0, len(after))
	for h := range after {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	var total int64
	for _, h := range hosts {
		n := after[h] - before[h]
		total += n
		fmt.Fprintf(&out, "  round trips on %-8s %d\n", h, n)
	}
	b.ReportMetric(float64(total), "noop-roundtrips")
	// Straight to stdout: the testing package cuts a benchmark's log
	// after a few lines.
	fmt.Print(out.String())
}
