package install

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/ssh"
)

// benchOptions: n small remote steps on "main", each checking for and then
// writing its own file with one command.
func benchOptions(dir string, n int) Options {
	return Options{Dialer: ssh.DialerFor, Build: func(s *Session) (*engine.Plan, error) {
		p := engine.NewPlan()
		for i := 0; i < n; i++ {
			path := host.Quote(filepath.Join(dir, fmt.Sprintf("f-%03d", i)))
			p.MustAdd(&engine.Func{
				StepID: fmt.Sprintf("small/%03d", i), Name: fmt.Sprintf("Small step %d", i), On: "main",
				CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
					_, err := env.Host.Run(ctx, "test -f "+path, host.RunOpts{})
					return err == nil, nil
				},
				ApplyFunc: func(ctx context.Context, env *engine.Env) error {
					_, err := env.Run(ctx, "echo done > "+path)
					return err
				},
			})
		}
		return p, nil
	}}
}

// BenchmarkApply200RemoteSteps: a fresh apply of 200 small remote steps on
// one host over a real sshd, then a no-op re-run. Reports steps per second,
// SSH connections opened (must be 1: one per host) and the no-op re-run time.
func BenchmarkApply200RemoteSteps(b *testing.B) {
	srv := sshtest.Start(b)
	user := loginUser(b, srv)
	const steps = 200
	var fresh, noop time.Duration
	conns := 0
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		sitePath := writeSite(b, srv, user)
		out := sharedDir(b)
		sess, err := Open(sitePath, benchOptions(out, steps))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		sum, err := sess.Run(context.Background(), RunOptions{Command: "apply", PerHost: 4})
		if err != nil || sum.Changed != steps {
			b.Fatalf("%+v %v", sum, err)
		}
		fresh += time.Since(start)
		start = time.Now()
		sum, err = sess.Run(context.Background(), RunOptions{Command: "apply", PerHost: 4})
		if err != nil || sum.Changed != 0 {
			b.Fatalf("no-op re-run: %+v %v", sum, err)
		}
		noop += time.Since(start)
		b.StopTimer()
		h, _ := sess.Hosts.Get(context.Background(), "main")
		conns = h.(*ssh.Host).Connections()
		sess.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(steps*b.N)/fresh.Seconds(), "steps/s")
	b.ReportMetric(noop.Seconds()/float64(b.N), "noop-rerun-s")
	b.ReportMetric(float64(conns), "ssh-conns/host")
	if conns != 1 {
		b.Errorf("%d SSH connections opened to one host: want 1", conns)
	}
	b.Logf("200 steps: fresh apply %.2fs, no-op re-run %.2fs, %d SSH connection(s)", fresh.Seconds()/float64(b.N), noop.Seconds()/float64(b.N), conns)
}
