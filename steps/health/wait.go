package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
)

// Script is the template that reads a stack's state and runs its probes.
const Script = "health/state.sh"

// Defaults of Spec.
const (
	DefaultTimeout  = 5 * time.Minute
	DefaultSettle   = 10 * time.Second
	DefaultInterval = 3 * time.Second
	// CrashLoop is how many tasks of a service that is not running may
	// fail after a deploy before the wait gives up early.
	CrashLoop = 4
	// LogLines is how many of a failing service's last log lines a
	// failure shows.
	LogLines = 25
)

// Spec says what a converged stack is.
type Spec struct {
	Stack string
	// Services are the full names (stack_service) that must run.
	Services []string
	Probes   []Probe
	// Timeout bounds the wait (DefaultTimeout); Settle is how long every
	// task must have run without being replaced (DefaultSettle).
	Timeout, Settle, Interval time.Duration
	// Component names the component for hints (`collabstack logs X`).
	Component string
	// Images, when set, are the images the stack file gives its services
	// (full name to image): Ready is false while a service's
	// specification names another one (a `docker service rollback` or a
	// hand-made `docker service update --image` left it there).
	Images map[string]string
}

func (sp Spec) withDefaults() Spec {
	if sp.Timeout <= 0 {
		sp.Timeout = DefaultTimeout
	}
	if sp.Settle <= 0 {
		sp.Settle = DefaultSettle
	}
	if sp.Interval <= 0 {
		sp.Interval = DefaultInterval
	}
	if sp.Component == "" {
		sp.Component = sp.Stack
	}
	return sp
}

// Render is the script that reads stack and runs probes.
func Render(stack string, probes []Probe) (string, error) {
	for _, p := range probes {
		if err := p.Check(); err != nil {
			return "", err
		}
	}
	return script.Render(Script, map[string]any{"Stack": stack, "ServiceFormat": ServiceFormat, "TaskFormat": TaskFormat, "Probes": probes})
}

// Read reads the stack's state and runs its probes on the manager h in one
// round trip. An exec probe whose container runs on another node is run
// there when inv knows that node.
func Read(ctx context.Context, h host.Host, inv *engine.Inventory, stack string, probes []Probe) (State, error) {
	text, err := Render(stack, probes)
	if err != nil {
		return State{Stack: stack}, err
	}
	out, err := h.Run(ctx, text, host.RunOpts{Sudo: true})
	if err != nil {
		return State{Stack: stack}, fmt.Errorf("read the state of stack %s on %s: %w", stack, h.Name(), err)
	}
	st, err := Parse(stack, out, probes)
	if err != nil {
		return st, err
	}
	for i, r := range st.Probes {
		if r.Elsewhere == "" || inv == nil {
			continue
		}
		st.Probes[i] = elsewhere(ctx, inv, r)
	}
	return st, nil
}

func elsewhere(ctx context.Context, inv *engine.Inventory, r Result) Result {
	node := r.Elsewhere
	if _, ok := inv.Spec(node); !ok {
		r.Detail = "its container runs on " + node + ", which is not a host of the site"
		return r
	}
	nh, err := inv.Get(ctx, node)
	if err != nil {
		r.Detail = fmt.Sprintf("its container runs on %s: %v", node, err)
		return r
	}
	text, err := Render("", []Probe{r.Probe})
	if err != nil {
		r.Detail = err.Error()
		return r
	}
	out, err := nh.Run(ctx, text, host.RunOpts{Sudo: true})
	if err != nil {
		r.Detail = fmt.Sprintf("on %s: %v", node, err)
		return r
	}
	st, err := Parse("", out, []Probe{r.Probe})
	if err != nil || len(st.Probes) != 1 {
		r.Detail = fmt.Sprintf("on %s: %v", node, err)
		return r
	}
	res := st.Probes[0]
	if res.Elsewhere != "" {
		res.Elsewhere, res.Detail = "", "no running container found on "+node
	}
	return res
}

// Ready reports whether the stack is converged now (no settle) and every
// probe passes; when not, it logs why to the step's output (so a re-run
// says why it redeploys).
func Ready(ctx context.Context, env *engine.Env, sp Spec) (bool, error) {
	st, err := Read(ctx, env.Host, env.Hosts, sp.Stack, sp.Probes)
	if err != nil {
		return false, err
	}
	if ok, svc, why := st.Converged(sp.Services); !ok {
		env.Logf("%s: %s", svc, why)
		return false, nil
	}
	if svc, have, want, ok := st.OtherImage(sp.Images); ok {
		env.Logf("%s runs %s, its stack file says %s", svc, have, want)
		return false, nil
	}
	if r, bad := st.FailedProbe(); bad {
		env.Logf("probe %s: %s", r.Probe, r.Detail)
		return false, nil
	}
	return true, nil
}

// OtherImage finds a service whose specification names another image than
// want (full service name to image) gives it; services docker did not
// list, or listed without an image, are left to Converged.
func (st State) OtherImage(want map[string]string) (svc, have, wantImage string, found bool) {
	for _, s := range st.Services {
		w, ok := want[s.Name]
		if !ok || s.Image == "" || SameImage(s.Image, w) {
			continue
		}
		return s.Name, s.Image, w, true
	}
	return "", "", "", false
}

// Wait waits until every service of sp runs all its desired tasks
// (healthy, for images with a healthcheck), none replaced during the
// settle period, and every probe passes. It reports progress (services
// converged and probes passed, of all) and a line when what it waits for
// changes. On timeout the error names the service or probe, docker's task
// error and the service's last log lines, with a hint.
func Wait(ctx context.Context, env *engine.Env, sp Spec) (State, error) {
	sp = sp.withDefaults()
	deadline := time.Now().Add(sp.Timeout)
	total := len(sp.Services) + len(sp.Probes)
	lastSaid := ""
	say := func(s string) {
		if s != lastSaid {
			env.Logf("%s", s)
			lastSaid = s
		}
	}
	ids := map[string]string{}
	started := time.Now()
	var st State
	var err error
	for {
		st, err = Read(ctx, env.Host, env.Hosts, sp.Stack, sp.Probes)
		if err != nil && ctx.Err() != nil {
			return st, ctx.Err()
		}
		done, waitingFor := 0, ""
		if err == nil {
			for _, name := range sp.Services {
				s, _ := st.Service(name)
				p := s.Problem()
				if !s.Known {
					p = "not created yet"
				}
				if p == "" {
					if prev, seen := ids[name]; seen && prev != s.RunningIDs() {
						p = "a task was replaced (restarted); waiting for it to stay up"
					} else if age := s.RunningFor(); age < sp.Settle {
						p = fmt.Sprintf("running for %s; making sure it stays up", age.Round(time.Second))
					}
					ids[name] = s.RunningIDs()
				}
				if p == "" {
					done++
				} else if waitingFor == "" {
					waitingFor = name + ": " + p
				}
				if s.Known && s.Problem() != "" && s.Restarts(time.Since(started)) >= CrashLoop {
					// Crash-looping since the deploy: waiting longer only
					// delays the diagnosis.
					env.Logf("%s: %d tasks failed since the deploy; giving up waiting", name, s.Restarts(time.Since(started)))
					return st, Failure(ctx, env.Host, sp, st, time.Since(started))
				}
			}
			if waitingFor == "" {
				for _, r := range st.Probes {
					if r.OK {
						done++
					} else if waitingFor == "" {
						waitingFor = "probe " + r.Probe.String() + ": " + r.Detail
					}
				}
			}
		} else {
			waitingFor = err.Error()
		}
		if env.Progress != nil {
			env.Progress(done, total)
		}
		if waitingFor == "" {
			return st, nil
		}
		say("waiting for " + waitingFor)
		if time.Now().After(deadline) {
			if err != nil {
				return st, engine.WithHint(fmt.Errorf("stack %s: %w", sp.Stack, err), "check that Docker runs on %s and that it is the swarm's manager", env.Host.Name())
			}
			return st, Failure(ctx, env.Host, sp, st, time.Since(started))
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(sp.Interval):
		}
	}
}

// Failure explains why a stack did not converge: the first service that
// is not running with its tasks as `docker service ps --no-trunc` shows
// them and its last log lines, or the first failing probe with the logs
// of the service behind it.
func Failure(ctx context.Context, h host.Host, sp Spec, st State, waited time.Duration) error {
	sp = sp.withDefaults()
	var b strings.Builder
	svc := ""
	if ok, name, why := st.Converged(sp.Services); !ok {
		svc = name
		fmt.Fprintf(&b, "%s is not running after %s: %s", name, waited.Round(time.Second), why)
	} else if r, bad := st.FailedProbe(); bad {
		svc = r.Probe.Service
		if svc == "" && len(sp.Services) > 0 {
			svc = sp.Services[0]
		}
		fmt.Fprintf(&b, "%s runs but does not answer after %s: %s: %s", sp.Stack, waited.Round(time.Second), r.Probe, r.Detail)
	} else {
		// Converged now but it kept replacing tasks until the deadline.
		for _, name := range sp.Services {
			if s, _ := st.Service(name); s.Restarts(sp.Timeout) > 0 {
				svc = name
				break
			}
		}
		if svc == "" && len(sp.Services) > 0 {
			svc = sp.Services[0]
		}
		fmt.Fprintf(&b, "%s kept restarting for %s", svc, waited.Round(time.Second))
	}
	if s, ok := st.Service(svc); ok && len(s.Tasks) > 0 {
		fmt.Fprintf(&b, "\ndocker service ps --no-trunc %s:", svc)
		for i, t := range s.Tasks {
			if i == 6 {
				break
			}
			line := fmt.Sprintf("\n  %s on %s: %s, %s (%s ago)", t.Name, orDash(t.Node), t.Desired, t.State, t.Age)
			if t.Error != "" {
				line += ": " + t.Error
			}
			b.WriteString(line)
		}
	}
	if svc != "" {
		if logs := LastLogs(ctx, h, svc, LogLines); logs != "" {
			fmt.Fprintf(&b, "\nlast log lines of %s:", svc)
			for _, l := range strings.Split(logs, "\n") {
				b.WriteString("\n  | " + l)
			}
		}
	}
	return engine.WithHint(fmt.Errorf("%s", b.String()),
		"fix what the task error or the log says (a site-file option, a missing dependency, too little memory), then run apply again; `collabstack logs %s` shows more and `collabstack status` shows every component", sp.Component)
}

// LastLogs returns the last n log lines of a swarm service ("" when docker
// has none); they pass through the run's redactor with the error.
func LastLogs(ctx context.Context, h host.Host, service string, n int) string {
	out, _ := h.Run(ctx, fmt.Sprintf("timeout 20 docker service logs --no-task-ids --tail %d %s 2>&1", n, host.Quote(service)), host.RunOpts{Sudo: true})
	return strings.TrimRight(out, "\n")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Stack names a stack and its probes for ReadAll.
type Stack struct {
	Name   string
	Probes []Probe
}

// ReadAll reads several stacks and runs their probes on the manager h in
// one round trip (the script goes on stdin: it may be long), for status
// and the end of an apply. Exec probes whose container runs on another
// node are run there.
func ReadAll(ctx context.Context, h host.Host, inv *engine.Inventory, stacks []Stack) (map[string]State, error) {
	var b strings.Builder
	for i, s := range stacks {
		text, err := Render(s.Name, s.Probes)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "echo '@stack %d'\n(\n%s\n)\n", i, text)
	}
	out, err := h.Run(ctx, "sh -s", host.RunOpts{Sudo: true, Stdin: []byte(b.String())})
	if err != nil {
		return nil, fmt.Errorf("read the stacks on %s: %w", h.Name(), err)
	}
	sections := make([]string, len(stacks))
	cur := -1
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "@stack "); ok {
			if n, err := fmt.Sscanf(rest, "%d", &cur); n != 1 || err != nil || cur < 0 || cur >= len(stacks) {
				cur = -1
			}
			continue
		}
		if cur >= 0 {
			sections[cur] += line + "\n"
		}
	}
	res := map[string]State{}
	for i, s := range stacks {
		st, err := Parse(s.Name, sections[i], s.Probes)
		if err != nil {
			return nil, err
		}
		for j, r := range st.Probes {
			if r.Elsewhere != "" && inv != nil {
				st.Probes[j] = elsewhere(ctx, inv, r)
			}
		}
		res[s.Name] = st
	}
	return res, nil
}
