package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/ssh"
)

// openLabSite writes a lab site file at sitePath and opens it; its lab is
// removed with its volumes when the test ends, unless COLLABSTACK_KEEP_LAB
// is set (to look at it afterwards).
func openLabSite(t *testing.T, sitePath, siteYAML string) *install.Session {
	t.Helper()
	if err := os.WriteFile(sitePath, []byte(siteYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	sess, err := install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	lo := lab.OptionsFor(sess.Site, sess.StateDir())
	t.Cleanup(func() {
		if os.Getenv("COLLABSTACK_KEEP_LAB") != "" {
			t.Logf("keeping the lab (network %s, state %s)", lo.Network, sess.StateDir())
			return
		}
		lab.Down(context.Background(), lo, true)
	})
	return sess
}

// freshApply applies the site and stops the test, with the run's log,
// unless it converges.
func freshApply(t *testing.T, ctx context.Context, sess *install.Session) engine.Summary {
	t.Helper()
	var log strings.Builder
	emit := func(e engine.Event) {
		switch e.Kind {
		case engine.StepFailed:
			fmt.Fprintf(&log, "FAILED %s: %v (%s)\n", e.Title, e.Err, e.Hint)
		case engine.StepOutput:
			fmt.Fprintf(&log, "  | %s\n", e.Line)
			if strings.Contains(e.Line, "STAND-INS IN USE") {
				t.Log(e.Line)
			}
		case engine.StepDone:
			fmt.Fprintf(&log, "ok %s changed=%v\n", e.Title, e.Changed)
		}
	}
	start := time.Now()
	sum, err := sess.Run(ctx, install.RunOptions{Emit: emit, Command: "apply"})
	t.Logf("fresh apply: %+v in %s", sum, time.Since(start).Round(time.Second))
	if err != nil {
		t.Fatalf("fresh apply: %v\n%s", err, log.String())
	}
	return sum
}

// noopApply runs apply on a converged site and fails the test, naming each
// step that changed and what it printed, unless nothing changed.
func noopApply(t *testing.T, ctx context.Context, sess *install.Session, what string) {
	t.Helper()
	var log strings.Builder
	var changed []string
	emit := func(e engine.Event) {
		switch e.Kind {
		case engine.StepOutput:
			fmt.Fprintf(&log, "  | %s: %s\n", e.Step, e.Line)
		case engine.StepDone:
			if e.Changed {
				changed = append(changed, e.Step)
			}
		case engine.StepFailed:
			fmt.Fprintf(&log, "FAILED %s: %v\n", e.Step, e.Err)
		}
	}
	sum, err := sess.Run(ctx, install.RunOptions{Emit: emit, Command: "apply"})
	if err != nil || sum.Changed != 0 {
		t.Errorf("%s: %+v %v; changed: %s\n%s", what, sum, err, strings.Join(changed, ", "), log.String())
	}
}
