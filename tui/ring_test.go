package tui

import (
	"fmt"
	"strings"
	"testing"
)

func TestRingKeepsTheLastLines(t *testing.T) {
	r := newRing(3)
	for i := 1; i <= 5; i++ {
		r.add(fmt.Sprint(i))
	}
	if got := strings.Join(r.tail(10), ","); got != "3,4,5" {
		t.Fatalf("tail %s", got)
	}
	if got := strings.Join(r.window(2, 1), ","); got != "3,4" {
		t.Fatalf("window %s", got)
	}
	if r.dropped != 2 {
		t.Fatalf("dropped %d", r.dropped)
	}
	r.dropOldest(2)
	if got := strings.Join(r.tail(10), ","); got != "5" {
		t.Fatalf("after dropOldest: %s", got)
	}
	r.add("6")
	r.add("7")
	r.add("8")
	if got := strings.Join(r.tail(10), ","); got != "6,7,8" {
		t.Fatalf("refilled: %s", got)
	}
}

// The ring behaves as "the last cap lines" under any mix of adds and drops.
func TestRingAgainstASlice(t *testing.T) {
	for _, capacity := range []int{1, 3, 8, 20} {
		r := newRing(capacity)
		var model []string
		for i := 0; i < 500; i++ {
			if i%7 == 3 {
				k := i % 5
				got := r.dropOldest(k)
				want := min(k, len(model))
				model = model[want:]
				if got != want {
					t.Fatalf("cap %d: dropped %d, want %d", capacity, got, want)
				}
				continue
			}
			line := fmt.Sprint(i)
			r.add(line)
			model = append(model, line)
			if len(model) > capacity {
				model = model[1:]
			}
			if got, want := strings.Join(r.tail(capacity), ","), strings.Join(model, ","); got != want || r.len() != len(model) {
				t.Fatalf("cap %d step %d: %s, want %s", capacity, i, got, want)
			}
		}
	}
}
