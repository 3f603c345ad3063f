package engine

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/journal"
	"github.com/collabstack/collabstack/steps/secrets"
)

func localInventory(names ...string) *Inventory {
	var specs []host.Spec
	for _, n := range names {
		specs = append(specs, host.Spec{Name: n, Local: true})
	}
	return NewInventory(func(ctx context.Context, s host.Spec, _ *Inventory) (host.Host, error) {
		return host.NewLocal(s.Name), nil
	}, specs...)
}

type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) kinds(k Kind) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		if e.Kind == k {
			out = append(out, e.Step)
		}
	}
	return out
}

func TestRunnerRunsIndependentStepsInParallelWithinHostLimit(t *testing.T) {
	var running, maxRunning, perA, maxPerA int32
	mk := func(id, h string) *Func {
		return &Func{StepID: id, Name: id, On: h, ApplyFunc: func(ctx context.Context, env *Env) error {
			n := atomic.AddInt32(&running, 1)
			for {
				m := atomic.LoadInt32(&maxRunning)
				if n <= m || atomic.CompareAndSwapInt32(&maxRunning, m, n) {
					break
				}
			}
			if h == "a" {
				k := atomic.AddInt32(&perA, 1)
				if k > atomic.LoadInt32(&maxPerA) {
					atomic.StoreInt32(&maxPerA, k)
				}
				defer atomic.AddInt32(&perA, -1)
			}
			time.Sleep(50 * time.Millisecond)
			atomic.AddInt32(&running, -1)
			return nil
		}}
	}
	p := NewPlan()
	p.MustAdd(mk("a1", "a"), mk("a2", "a"), mk("b1", "b"), mk("c1", "c"))
	sum, err := (&Runner{Plan: p, Hosts: localInventory("a", "b", "c"), Parallel: 4, PerHost: 1}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Changed != 4 {
		t.Errorf("changed %d", sum.Changed)
	}
	if maxRunning < 2 {
		t.Errorf("independent steps did not run in parallel (max %d at once)", maxRunning)
	}
	if maxPerA > 1 {
		t.Errorf("per-host limit 1 exceeded: %d at once on host a", maxPerA)
	}
}

func TestFailureBlocksDependentsOnlyAndHintReachesEvents(t *testing.T) {
	p := NewPlan()
	boom := &Func{StepID: "boom", Name: "Boom", ApplyFunc: func(context.Context, *Env) error {
		return WithHint(errors.New("disk full"), "free space on /var")
	}}
	child := &Func{StepID: "child", Name: "Child", Needs: []string{"boom"}}
	grandchild := &Func{StepID: "grandchild", Name: "Grandchild", Needs: []string{"child"}}
	independentRan := false
	independent := &Func{StepID: "indep", Name: "Indep", ApplyFunc: func(context.Context, *Env) error { independentRan = true; return nil }}
	p.MustAdd(boom, child, grandchild, independent)
	rec := &recorder{}
	sum, err := (&Runner{Plan: p, Hosts: localInventory(), Emit: rec.emit}).Run(context.Background())
	var re *RunError
	if !errors.As(err, &re) || len(re.Failures) != 1 || re.Failures[0].Hint != "free space on /var" {
		t.Fatalf("err %#v", err)
	}
	if sum.Blocked != 2 || !independentRan {
		t.Errorf("blocked %d, independent ran %v", sum.Blocked, independentRan)
	}
	if got := rec.kinds(StepBlocked); len(got) != 2 {
		t.Errorf("blocked events %v", got)
	}
	for _, e := range rec.events {
		if e.Kind == StepFailed && e.Hint != "free space on /var" {
			t.Errorf("failed event without the hint: %+v", e)
		}
	}
}

func TestCheckSkipsApplyWhenDone(t *testing.T) {
	applied := false
	p := NewPlan()
	p.MustAdd(&Func{StepID: "x", Name: "X", CheckFunc: func(context.Context, *Env) (bool, error) { return true, nil },
		ApplyFunc: func(context.Context, *Env) error { applied = true; return nil }})
	sum, err := (&Runner{Plan: p, Hosts: localInventory()}).Run(context.Background())
	if err != nil || applied || sum.Unchanged != 1 {
		t.Fatalf("err %v applied %v sum %+v", err, applied, sum)
	}
}

func TestDryRunChangesNothingAndMarksDependentsToDo(t *testing.T) {
	applied := false
	checkedChild := false
	p := NewPlan()
	p.MustAdd(
		&Func{StepID: "a", Name: "A", ApplyFunc: func(context.Context, *Env) error { applied = true; return nil }},
		&Func{StepID: "b", Name: "B", Needs: []string{"a"}, CheckFunc: func(context.Context, *Env) (bool, error) { checkedChild = true; return true, nil }},
		&Func{StepID: "c", Name: "C", On: "down"},
	)
	inv := NewInventory(func(ctx context.Context, s host.Spec, _ *Inventory) (host.Host, error) {
		return nil, errors.New("connection refused")
	}, host.Spec{Name: "down"})
	rec := &recorder{}
	sum, err := (&Runner{Plan: p, Hosts: inv, DryRun: true, Emit: rec.emit}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if applied || checkedChild {
		t.Errorf("dry run applied %v / checked a step whose dependency will change %v", applied, checkedChild)
	}
	if sum.Changed != 2 || sum.Unknown != 1 {
		t.Errorf("summary %+v", sum)
	}
}

func TestCancelStopsAndJournalSaysInterrupted(t *testing.T) {
	dir := t.TempDir()
	j, err := journal.Open(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := NewPlan()
	p.MustAdd(
		&Func{StepID: "first", Name: "First", ApplyFunc: func(context.Context, *Env) error { cancel(); return nil }},
		&Func{StepID: "slow", Name: "Slow", On: "l", Needs: []string{"first"}, ApplyFunc: func(ctx context.Context, env *Env) error {
			_, err := env.Run(ctx, "sleep 30")
			return err
		}},
	)
	start := time.Now()
	sum, err := (&Runner{Plan: p, Hosts: localInventory("l"), Journal: j}).Run(ctx)
	j.Close()
	var re *RunError
	if !errors.As(err, &re) || !re.Cancelled {
		t.Fatalf("err %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("cancel did not stop the run")
	}
	if sum.NotRun != 1 {
		t.Errorf("summary %+v", sum)
	}
	recs, _ := journal.Read(filepath.Join(dir, "journal.jsonl"))
	last := journal.Last(recs)
	if last == nil || last.Status != journal.StatusInterrupted || last.Steps["first"].Status != journal.StatusChanged {
		t.Fatalf("journal: %+v", last)
	}
	// The step that changed its host was recorded as begun before its
	// result, which it has, so none is left applying; the step never
	// started after the cancel has neither.
	var applied []string
	for _, r := range recs {
		if r.Kind == journal.KindApply {
			applied = append(applied, r.Step)
		}
	}
	if strings.Join(applied, ",") != "first" || len(last.Applying) != 0 {
		t.Errorf("apply records %v, still applying %v", applied, last.Applying)
	}
}

func TestSecretsNeverLeaveTheEngine(t *testing.T) {
	dir := t.TempDir()
	store, _ := secrets.Open(filepath.Join(dir, "secrets.yaml"))
	pw, err := store.Password("db", 24)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := journal.Open(filepath.Join(dir, "journal.jsonl"))
	p := NewPlan()
	p.MustAdd(&Func{StepID: "leak", Name: "Leak", On: "l", ApplyFunc: func(ctx context.Context, env *Env) error {
		pw, _ := env.Secrets.Get("db")
		if _, err := env.Run(ctx, "echo password is "+pw); err != nil {
			return err
		}
		_, err := env.Run(ctx, "echo failing with "+pw+" >&2; exit 3")
		return err
	}})
	rec := &recorder{}
	_, runErr := (&Runner{Plan: p, Hosts: localInventory("l"), Secrets: store, Journal: j, Redactor: secrets.NewRedactor(store), Emit: rec.emit}).Run(context.Background())
	j.Close()
	if runErr == nil {
		t.Fatal("want the failing command to fail the step")
	}
	var all strings.Builder
	for _, e := range rec.events {
		all.WriteString(e.Line + "\n")
		if e.Err != nil {
			all.WriteString(e.Err.Error() + "\n")
		}
	}
	all.WriteString(runErr.Error())
	recs, _ := journal.Read(filepath.Join(dir, "journal.jsonl"))
	for _, r := range recs {
		all.WriteString(r.Error + r.Hint)
	}
	if strings.Contains(all.String(), pw) {
		t.Fatalf("secret leaked:\n%s", all.String())
	}
	if !strings.Contains(all.String(), "password is [redacted]") {
		t.Fatalf("output not streamed/redacted:\n%s", all.String())
	}
}

func TestPanickingStepFailsCleanly(t *testing.T) {
	p := NewPlan()
	p.MustAdd(&Func{StepID: "p", Name: "P", ApplyFunc: func(context.Context, *Env) error { panic("bug") }})
	_, err := (&Runner{Plan: p, Hosts: localInventory()}).Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "crashed") {
		t.Fatalf("got %v", err)
	}
}

func TestStepRegistersHostForLaterSteps(t *testing.T) {
	inv := localInventory()
	var ranOn string
	p := NewPlan()
	p.MustAdd(
		&Func{StepID: "create", Name: "Create vm1", ApplyFunc: func(ctx context.Context, env *Env) error {
			env.Hosts.Register(host.Spec{Name: "vm1", Local: true})
			return nil
		}},
		&Func{StepID: "use", Name: "Use vm1", On: "vm1", Needs: []string{"create"}, ApplyFunc: func(ctx context.Context, env *Env) error {
			ranOn = env.Host.Name()
			return nil
		}},
	)
	if _, err := (&Runner{Plan: p, Hosts: inv}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ranOn != "vm1" {
		t.Fatalf("the step ran on %q", ranOn)
	}
}

func TestUnknownHostFailsWithHint(t *testing.T) {
	p := NewPlan()
	p.MustAdd(&Func{StepID: "x", Name: "X", On: "ghost"})
	_, err := (&Runner{Plan: p, Hosts: localInventory()}).Run(context.Background())
	if err == nil || HintOf(err) == "" && !strings.Contains(err.Error(), "not known") {
		t.Fatalf("got %v", err)
	}
}
