package tui

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
)

// BenchmarkRunViewLogs streams 10,000 log lines (over 20 steps) through
// the run view, one Update per line and a View every 16 lines (a frame at
// 60 fps for ~1,000 lines a second), and reports the time per Update and
// per View and the memory the view holds afterwards:
//
//	go test ./tui -run '^$' -bench RunViewLogs -benchmem
func BenchmarkRunViewLogs(b *testing.B) {
	const lines, steps, frameEvery = 10000, 20, 16
	events := make([]engine.Event, 0, lines+2*steps)
	for s := 0; s < steps; s++ {
		id := fmt.Sprintf("apps/deploy/app-%02d", s)
		events = append(events, engine.Event{Kind: engine.StepStarted, Step: id, Title: "Deploy app " + id, Host: "main"})
		for i := 0; i < lines/steps; i++ {
			events = append(events, engine.Event{Kind: engine.StepOutput, Step: id, Line: fmt.Sprintf("%s: pulling layer %d of %d: \x1b[32m%d%%\x1b[0m complete, 12.3 MB/s, some more text to make a realistic line", id, i, lines/steps, i%100)})
		}
		events = append(events, engine.Event{Kind: engine.StepDone, Step: id, Title: "Deploy app " + id, Host: "main", Changed: true, Elapsed: time.Second})
	}
	var updates, views time.Duration
	var nUpdates, nViews int
	var held uint64
	b.ReportAllocs()
	for b.Loop() {
		m := testRunView(nil, 120, 40)
		m.now = time.Now
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		for i, e := range events {
			start := time.Now()
			m.Update(eventsMsg{e})
			updates += time.Since(start)
			nUpdates++
			if i%frameEvery == 0 {
				start = time.Now()
				_ = m.View()
				views += time.Since(start)
				nViews++
			}
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if after.HeapAlloc > before.HeapAlloc {
			held = after.HeapAlloc - before.HeapAlloc
		}
		runtime.KeepAlive(m)
	}
	b.ReportMetric(float64(updates.Nanoseconds())/float64(nUpdates), "ns/update")
	b.ReportMetric(float64(views.Nanoseconds())/float64(nViews), "ns/view")
	b.ReportMetric(float64(held)/1024, "KiB-held")
}
