package engine

import (
	"context"
	"strings"
	"testing"
)

func step(id string, after ...string) *Func {
	return &Func{StepID: id, Name: "step " + id, Needs: after}
}

func TestOrderFollowsDependencies(t *testing.T) {
	p := NewPlan()
	p.MustAdd(step("c", "b"), step("a"), step("b", "a"), step("d"))
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(p.Order(), ",")
	if got != "a,b,c,d" && got != "a,d,b,c" && got != "a,b,d,c" {
		t.Fatalf("order %s", got)
	}
	pos := map[string]int{}
	for i, id := range p.Order() {
		pos[id] = i
	}
	if !(pos["a"] < pos["b"] && pos["b"] < pos["c"]) {
		t.Fatalf("dependencies out of order: %s", got)
	}
}

func TestCycleIsReportedWithItsPath(t *testing.T) {
	p := NewPlan()
	p.MustAdd(step("a", "c"), step("b", "a"), step("c", "b"), step("d"))
	err := p.Validate()
	if err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("want a cycle error, got %v", err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("cycle message %q does not name %s", err, id)
		}
	}
	if strings.Contains(err.Error(), "-> d") || strings.Contains(err.Error(), "d ->") {
		t.Errorf("cycle message names a step outside the cycle: %v", err)
	}
}

func TestMissingDependencyAndDuplicate(t *testing.T) {
	p := NewPlan()
	p.MustAdd(step("a", "ghost"))
	if err := p.Validate(); err == nil || !strings.Contains(err.Error(), `needs "ghost"`) {
		t.Fatalf("got %v", err)
	}
	if err := p.Add(step("a")); err == nil || !strings.Contains(err.Error(), "two steps") {
		t.Fatalf("duplicate: %v", err)
	}
}

func TestOnlyKeepsComponentAndWhatItNeeds(t *testing.T) {
	p := NewPlan()
	base := step("swarm")
	db := step("db", "swarm")
	db.Comp = "postgres"
	app := step("nc", "db")
	app.Comp = "nextcloud"
	other := step("pad", "swarm")
	other.Comp = "etherpad"
	p.MustAdd(base, db, app, other)
	only, err := p.Only("nextcloud")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(only.Order(), ","); got != "swarm,db,nc" {
		t.Fatalf("only nextcloud: %s", got)
	}
	if _, err := p.Only("nextclod"); err == nil {
		t.Fatal("unknown component accepted")
	}
}

func TestRunCycleFailsBeforeAnything(t *testing.T) {
	ran := false
	p := NewPlan()
	a := step("a", "b")
	a.ApplyFunc = func(context.Context, *Env) error { ran = true; return nil }
	p.MustAdd(a, step("b", "a"))
	_, err := (&Runner{Plan: p, Hosts: NewInventory(nil)}).Run(context.Background())
	if err == nil || ran {
		t.Fatalf("err %v ran %v", err, ran)
	}
}
