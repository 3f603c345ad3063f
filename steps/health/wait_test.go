package health

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
)

// scripted is a manager whose state script answers the next of states
// (the last one again when they run out) and whose service logs are logs.
// It stands in for docker only: the script's parsing of real docker
// output is TestParseJudgesDockerOutput's, the real swarm the lab's.
type scripted struct {
	mu     sync.Mutex
	states []string
	logs   string
	runs   int
}

func (s *scripted) Name() string { return "lab-1" }
func (s *scripted) Run(_ context.Context, cmd string, _ host.RunOpts) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.Contains(cmd, "docker service logs") {
		return s.logs, nil
	}
	out := s.states[min(s.runs, len(s.states)-1)]
	s.runs++
	return out, nil
}
func (s *scripted) Upload(context.Context, string, []byte, fs.FileMode, string) error { return nil }
func (s *scripted) ReadFile(context.Context, string) ([]byte, error)                  { return nil, fs.ErrNotExist }
func (s *scripted) Close() error                                                      { return nil }

func envFor(h host.Host) (*engine.Env, *[]string, *[][2]int) {
	var lines []string
	var progress [][2]int
	return &engine.Env{Host: h, Out: func(l string) { lines = append(lines, l) }, Progress: func(d, t int) { progress = append(progress, [2]int{d, t}) }}, &lines, &progress
}

func TestWaitConvergesAfterStartingAndSettling(t *testing.T) {
	h := &scripted{states: []string{
		"S\tpad_etherpad\treplicated\t0/1\nT\tt1\tpad_etherpad.1\tlab-2\tRunning\tStarting 2 seconds ago\t\nP\t0\tfail\tHTTP 502 instead of 200: Bad Gateway\n",
		"S\tpad_etherpad\treplicated\t1/1\nT\tt1\tpad_etherpad.1\tlab-2\tRunning\tRunning 1 second ago\t\nP\t0\tfail\tHTTP 502 instead of 200: Bad Gateway\n",
		"S\tpad_etherpad\treplicated\t1/1\nT\tt1\tpad_etherpad.1\tlab-2\tRunning\tRunning 20 seconds ago\t\nP\t0\tok\tHTTP 200\n",
	}}
	env, lines, progress := envFor(h)
	sp := Spec{Stack: "pad", Services: []string{"pad_etherpad"}, Probes: []Probe{HTTP("pad.x.test", 443, "/", 200, "Etherpad")}, Interval: time.Millisecond, Timeout: time.Minute}
	st, err := Wait(context.Background(), env, sp)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Probes[0].OK || h.runs != 3 {
		t.Errorf("state %+v after %d reads", st, h.runs)
	}
	said := strings.Join(*lines, "\n")
	for _, want := range []string{"waiting for pad_etherpad: 0 of 1 tasks running (1 starting)", "waiting for pad_etherpad: running for 1s; making sure it stays up"} {
		if !strings.Contains(said, want) {
			t.Errorf("the wait did not say %q:\n%s", want, said)
		}
	}
	if last := (*progress)[len(*progress)-1]; last != [2]int{2, 2} {
		t.Errorf("progress %v", *progress)
	}
}

func TestWaitGivesUpOnACrashLoopNamingTheServiceWithItsLogs(t *testing.T) {
	loop := "S\tpad_etherpad\treplicated\t0/1\n" +
		"T\tt5\tpad_etherpad.1\tlab-2\tRunning\tStarting 1 second ago\t\n"
	for i := 1; i <= 4; i++ {
		loop += "T\tt" + string(rune('0'+i)) + "\tpad_etherpad.1\tlab-2\tShutdown\tFailed " + string(rune('0'+i)) + " seconds ago\ttask: non-zero exit (127)\n"
	}
	h := &scripted{states: []string{loop}, logs: "pad_etherpad.1@lab-2    | sh: 1: pnpm: not found\n"}
	env, _, _ := envFor(h)
	sp := Spec{Stack: "pad", Services: []string{"pad_etherpad"}, Interval: time.Millisecond, Timeout: time.Hour, Component: "etherpad"}
	start := time.Now()
	_, err := Wait(context.Background(), env, sp)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("a crash loop: %v after %s", err, time.Since(start))
	}
	for _, want := range []string{"pad_etherpad is not running after", "task: non-zero exit (127)", "docker service ps --no-trunc pad_etherpad:", "last log lines of pad_etherpad:", "| sh: 1: pnpm: not found"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the failure does not say %q:\n%v", want, err)
		}
	}
	if hint := engine.HintOf(err); !strings.Contains(hint, "collabstack logs etherpad") {
		t.Errorf("hint %q", hint)
	}
}

func TestWaitTimesOutOnAProbeSayingWhatAnswered(t *testing.T) {
	h := &scripted{states: []string{"S\tadm_adminer\treplicated\t1/1\nT\tt1\tadm_adminer.1\tlab-2\tRunning\tRunning 5 minutes ago\t\nP\t0\tfail\tHTTP 500 instead of 200: broken on purpose\n"}}
	env, _, _ := envFor(h)
	sp := Spec{Stack: "adm", Services: []string{"adm_adminer"}, Probes: []Probe{HTTP("adminer.x.test", 443, "/", 200, "Adminer")}, Interval: time.Millisecond, Timeout: 20 * time.Millisecond}
	_, err := Wait(context.Background(), env, sp)
	if err == nil || !strings.Contains(err.Error(), "adm runs but does not answer") || !strings.Contains(err.Error(), "HTTP 500 instead of 200: broken on purpose") {
		t.Errorf("a failing probe: %v", err)
	}
}

func TestReadyLogsWhyARerunRedeploys(t *testing.T) {
	h := &scripted{states: []string{"S\tpad_etherpad\treplicated\t0/1\nT\tt1\tpad_etherpad.1\tlab-2\tReady\tPreparing 1 second ago\t\n"}}
	env, lines, _ := envFor(h)
	ok, err := Ready(context.Background(), env, Spec{Stack: "pad", Services: []string{"pad_etherpad"}})
	if err != nil || ok || len(*lines) != 1 || !strings.Contains((*lines)[0], "pad_etherpad: 0 of 1 tasks running") {
		t.Errorf("ready %v %v %q", ok, err, *lines)
	}
}

// A service that runs another image than its stack file says (what a
// `docker service rollback` after a failed upgrade leaves, with the new
// stack file already on the manager) is not ready, so the deploy step runs
// again instead of calling the upgrade done. The line is what docker 20.10
// prints for `{{.Image}}`: the familiar name with its tag, no digest.
func TestReadyRedeploysAServiceOnAnotherImage(t *testing.T) {
	state := "S\tpad_etherpad\treplicated\t1/1\tetherpad/etherpad:2.2.6\nT\tt1\tpad_etherpad.1\tlab-2\tRunning\tRunning 2 minutes ago\t\n"
	h := &scripted{states: []string{state}}
	env, lines, _ := envFor(h)
	sp := Spec{Stack: "pad", Services: []string{"pad_etherpad"}, Images: map[string]string{"pad_etherpad": "etherpad/etherpad:2.3.0"}}
	ok, err := Ready(context.Background(), env, sp)
	if err != nil || ok || len(*lines) != 1 || !strings.Contains((*lines)[0], "pad_etherpad runs etherpad/etherpad:2.2.6, its stack file says etherpad/etherpad:2.3.0") {
		t.Errorf("ready %v %v %q", ok, err, *lines)
	}
	sp.Images["pad_etherpad"] = "docker.io/etherpad/etherpad:2.2.6"
	if ok, err := Ready(context.Background(), env, sp); err != nil || !ok {
		t.Errorf("the same image by another spelling: ready %v %v", ok, err)
	}
}

func TestSameImage(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"nginx", "nginx:latest", true},
		{"nginx:1.27", "docker.io/library/nginx:1.27", true},
		{"nginx:1.27@sha256:abcd", "nginx:1.27", true},
		{"10.0.0.2:5000/app", "10.0.0.2:5000/app:latest", true},
		{"10.0.0.2:5000/app:1", "10.0.0.2:5000/app:2", false},
		{"postgres:16", "postgres:17", false},
	} {
		if got := SameImage(c.a, c.b); got != c.same {
			t.Errorf("SameImage(%q, %q) = %v", c.a, c.b, got)
		}
	}
}
