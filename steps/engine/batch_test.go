package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/collabstack/collabstack/steps/host"
)

// countingHost runs commands on this machine (real sh) and counts them,
// as the SSH transport counts its round trips.
type countingHost struct {
	host.Host
	runs atomic.Int64
}

func (c *countingHost) Run(ctx context.Context, command string, opts host.RunOpts) (string, error) {
	c.runs.Add(1)
	return c.Host.Run(ctx, command, opts)
}

// preStep is a step whose check is a script that exits 0 (done) or 100
// (todo), checked through the batch when the runner ran it ahead.
type preStep struct {
	*Func
	script    string
	fromBatch *atomic.Int64
}

func (p *preStep) Precheck(context.Context, *Env) (*Precheck, error) {
	return &Precheck{Script: p.script, Env: map[string]string{"MODE": "check"}}, nil
}

func newPreStep(id, on, script string, needs []string, fromBatch *atomic.Int64, apply func() error) *preStep {
	p := &preStep{script: script, fromBatch: fromBatch}
	p.Func = &Func{StepID: id, Name: id, On: on, Needs: needs,
		CheckFunc: func(ctx context.Context, env *Env) (bool, error) {
			if r, ok := env.Prechecked(&Precheck{Script: script, Env: map[string]string{"MODE": "check"}}); ok {
				fromBatch.Add(1)
				return r.Code == 0, nil
			}
			_, err := env.Host.Run(ctx, script, host.RunOpts{Env: map[string]string{"MODE": "check"}})
			var ee *host.ExitError
			if errors.As(err, &ee) && ee.Code == 100 {
				return false, nil
			}
			return err == nil, err
		},
		ApplyFunc: func(context.Context, *Env) error { return apply() },
	}
	return p
}

func TestBatchedChecksTakeOneRoundTripOnANoOpRun(t *testing.T) {
	dir := t.TempDir()
	h := &countingHost{Host: host.NewLocal("h")}
	inv := NewInventory(func(context.Context, host.Spec, *Inventory) (host.Host, error) { return h, nil }, host.Spec{Name: "h", Local: true})
	var fromBatch atomic.Int64
	plan := NewPlan()
	var ids []string
	for _, name := range []string{"a", "b", "c", "d"} {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// Quotes, $ and a here-document end of its own stay the
		// script's: each runs as written, in its own sh, with MODE set.
		script := "set -eu\n[ \"$MODE\" = check ] || exit 2\ncat <<'EOF' >/dev/null\n'\"$(false)`x`\nEOF\ntest -e '" + f + "' || exit 100\n"
		if err := plan.Add(newPreStep(name, "h", script, ids, &fromBatch, func() error { t.Errorf("%s applied on a no-op run", name); return nil })); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, name)
	}
	sum, err := (&Runner{Plan: plan, Hosts: inv}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Unchanged != 4 || fromBatch.Load() != 4 || h.runs.Load() != 1 {
		t.Fatalf("no-op run: %d unchanged (want 4), %d checks answered from the batch (want 4), %d commands (want 1)", sum.Unchanged, fromBatch.Load(), h.runs.Load())
	}
}

func TestChecksAfterAChangeReadLiveState(t *testing.T) {
	dir := t.TempDir()
	h := &countingHost{Host: host.NewLocal("h")}
	inv := NewInventory(func(context.Context, host.Spec, *Inventory) (host.Host, error) { return h, nil }, host.Spec{Name: "h", Local: true})
	var fromBatch atomic.Int64
	plan := NewPlan()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(b, nil, 0o600)
	applied := map[string]int{}
	// a is missing: its apply creates a and removes b, which the batch saw
	// present. b's check must see it gone (live), not take the old answer.
	plan.Add(newPreStep("a", "h", "test -e '"+a+"' || exit 100\n", nil, &fromBatch, func() error {
		applied["a"]++
		os.Remove(b)
		return os.WriteFile(a, nil, 0o600)
	}))
	plan.Add(newPreStep("b", "h", "test -e '"+b+"' || exit 100\n", []string{"a"}, &fromBatch, func() error {
		applied["b"]++
		return nil
	}))
	if _, err := (&Runner{Plan: plan, Hosts: inv}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if applied["a"] != 1 || applied["b"] != 1 {
		t.Fatalf("applied %v: b's check took the batch's answer from before a's change", applied)
	}
	if fromBatch.Load() != 1 {
		t.Fatalf("%d checks answered from the batch, want 1 (a's, before any change)", fromBatch.Load())
	}
}

func TestParseBatchRefusesAnIncompleteAnswer(t *testing.T) {
	list := []*Precheck{{Script: "true"}, {Script: "false"}}
	script, mark := BatchScript(list)
	out, err := host.NewLocal("h").Run(context.Background(), "sh -s", host.RunOpts{Stdin: []byte(script)})
	if err != nil {
		t.Fatal(err)
	}
	res, ok := ParseBatch(out, mark, list)
	if !ok || res[list[0].key()].Code != 0 || res[list[1].key()].Code != 1 {
		t.Fatalf("ParseBatch = %v, %v", res, ok)
	}
	cut := out[:strings.LastIndex(out, mark)]
	if _, ok := ParseBatch(cut, mark, list); ok {
		t.Fatal("an answer missing one check was taken")
	}
}

func TestOnlyChecksThatComeAfterWorkOnTheirOwnHostRunAhead(t *testing.T) {
	h := &countingHost{Host: host.NewLocal("h")}
	g := &countingHost{Host: host.NewLocal("g")}
	inv := NewInventory(func(_ context.Context, s host.Spec, _ *Inventory) (host.Host, error) {
		if s.Name == "g" {
			return g, nil
		}
		return h, nil
	}, host.Spec{Name: "h", Local: true}, host.Spec{Name: "g", Local: true})
	var fromBatch atomic.Int64
	plan := NewPlan()
	never := func() error { t.Error("applied on a no-op run"); return nil }
	plan.Add(newPreStep("g1", "g", "exit 0\n", nil, &fromBatch, never))
	plan.Add(newPreStep("h1", "h", "exit 0\n", nil, &fromBatch, never))
	plan.Add(newPreStep("h2", "h", "true\n", []string{"h1"}, &fromBatch, never))
	// h3 comes after g1 through h2b: its check must not run ahead.
	plan.Add(newPreStep("h2b", "h", ":\n", []string{"g1"}, &fromBatch, never))
	plan.Add(newPreStep("h3", "h", "[ 1 = 1 ]\n", []string{"h2b"}, &fromBatch, never))
	if _, err := (&Runner{Plan: plan, Hosts: inv, Parallel: 1}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	// h's batch holds h1 and h2; h2b and h3 check live (2 commands);
	// g has one check alone, which gains nothing from a batch (1 command).
	if got := h.runs.Load(); got != 3 {
		t.Errorf("%d commands on h, want 3 (one batch of h1 and h2, then h2b and h3 live)", got)
	}
	if fromBatch.Load() != 2 {
		t.Errorf("%d checks from a batch, want 2", fromBatch.Load())
	}
}
