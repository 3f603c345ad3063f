// Package health proves that what collabstack deployed works: it waits
// for a stack's services to converge (every desired task running, healthy
// where the image has a healthcheck, not restarting), runs the probes a
// user would (a page through the edge, a port, a command in a backend's
// container), and explains a failure with docker's task error and the
// service's last log lines. Reading a stack's state and running its probes
// is one shell script (templates/health/state.sh): one SSH round trip.
package health

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Formats docker is asked for (tab-separated, parsed by Parse).
const (
	ServiceFormat = "S\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}"
	TaskFormat    = "T\t{{.ID}}\t{{.Name}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}"
)

// Task is one task of a service as `docker stack ps` shows it.
type Task struct {
	ID, Name, Node string
	// Desired and State are docker's words, lower case: running,
	// shutdown, starting, failed, rejected, preparing...
	Desired, State string
	// Age is how long the task has been in State (docker rounds it).
	Age   time.Duration
	Error string
}

// Service is one service of a stack: docker's replica count and its tasks
// (the current ones and the history docker keeps).
type Service struct {
	Name    string
	Mode    string
	Running int
	Desired int
	// Known is false when `docker stack services` did not list it.
	Known bool
	// Image is the image of the service's specification, without the
	// digest docker may have pinned it to.
	Image string
	Tasks []Task
}

// State is what the swarm says of one stack, and its probes' results.
type State struct {
	Stack    string
	Services []Service
	Probes   []Result
}

// Parse reads the lines of templates/health/state.sh; probes are the
// probes the script ran, in order.
func Parse(stack, out string, probes []Probe) (State, error) {
	st := State{Stack: stack}
	idx := map[string]int{}
	service := func(name string) *Service {
		i, ok := idx[name]
		if !ok {
			i = len(st.Services)
			idx[name] = i
			st.Services = append(st.Services, Service{Name: name})
		}
		return &st.Services[i]
	}
	results := make([]Result, len(probes))
	seen := make([]bool, len(probes))
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimRight(line, "\r"), "\t")
		switch f[0] {
		case "S":
			if len(f) < 4 {
				return st, fmt.Errorf("docker stack services said %q", line)
			}
			s := service(f[1])
			s.Known, s.Mode = true, f[2]
			s.Running, s.Desired = parseReplicas(f[3])
			if len(f) > 4 {
				s.Image, _, _ = strings.Cut(strings.TrimSpace(f[4]), "@")
			}
		case "T":
			if len(f) < 7 {
				return st, fmt.Errorf("docker stack ps said %q", line)
			}
			name := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(f[2]), `\_`))
			svc := name
			if i := strings.LastIndex(name, "."); i > 0 {
				svc = name[:i]
			}
			state, age := parseState(f[5])
			service(svc).Tasks = append(service(svc).Tasks, Task{ID: f[1], Name: name, Node: f[3], Desired: strings.ToLower(f[4]), State: state, Age: age, Error: strings.Join(f[6:], " ")})
		case "P":
			if len(f) < 4 {
				return st, fmt.Errorf("a probe said %q", line)
			}
			i, err := strconv.Atoi(f[1])
			if err != nil || i < 0 || i >= len(probes) {
				return st, fmt.Errorf("a probe said %q", line)
			}
			r := Result{Probe: probes[i], Detail: strings.TrimSpace(strings.Join(f[3:], " "))}
			switch f[2] {
			case "ok":
				r.OK = true
			case "elsewhere":
				r.Elsewhere, r.Detail = r.Detail, "its container runs on "+r.Detail
			}
			results[i], seen[i] = r, true
		}
	}
	for i, p := range probes {
		if !seen[i] {
			results[i] = Result{Probe: p, Detail: "the probe gave no answer"}
		}
	}
	st.Probes = results
	sort.SliceStable(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	return st, nil
}

// parseReplicas reads "1/1", "0/2 (max 1 per node)" or "1/1 (1/1 completed)".
func parseReplicas(s string) (running, desired int) {
	s = strings.Fields(s + " ")[0]
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0
	}
	running, _ = strconv.Atoi(a)
	desired, _ = strconv.Atoi(b)
	return running, desired
}

// parseState reads docker's "Running 5 minutes ago" into the state and
// its age.
func parseState(s string) (string, time.Duration) {
	s = strings.TrimSpace(s)
	word, rest, _ := strings.Cut(s, " ")
	return strings.ToLower(word), parseAge(strings.TrimSuffix(strings.TrimSpace(rest), " ago"))
}

// parseAge reads go-units' HumanDuration ("less than a second",
// "about a minute", "3 hours"), lower-cased as docker prints it; what it
// cannot read is 0.
func parseAge(s string) time.Duration {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "less than a second", "now":
		return 0
	case "about a minute":
		return time.Minute
	case "about an hour":
		return time.Hour
	}
	n, unit, ok := strings.Cut(s, " ")
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(n)
	if err != nil {
		if n == "a" || n == "an" {
			v = 1
		} else {
			return 0
		}
	}
	units := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour, "month": 30 * 24 * time.Hour, "year": 365 * 24 * time.Hour}
	return time.Duration(v) * units[strings.TrimSuffix(unit, "s")]
}

// Current are the tasks docker wants running.
func (s Service) Current() []Task {
	var out []Task
	for _, t := range s.Tasks {
		if t.Desired == "running" || t.Desired == "ready" {
			out = append(out, t)
		}
	}
	return out
}

// Problem says why the service is not converged, "" when every desired
// task is running (which, for an image with a healthcheck, docker only
// says once it is healthy).
func (s Service) Problem() string {
	if !s.Known {
		return "the swarm has no such service"
	}
	if strings.HasPrefix(s.Mode, "replicated-job") || strings.HasPrefix(s.Mode, "global-job") {
		return ""
	}
	if s.Running >= s.Desired {
		return ""
	}
	states := map[string]int{}
	for _, t := range s.Current() {
		if t.State != "running" {
			states[t.State]++
		}
	}
	why := fmt.Sprintf("%d of %d tasks running", s.Running, s.Desired)
	if len(states) > 0 {
		var parts []string
		for st, n := range states {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
		sort.Strings(parts)
		why += " (" + strings.Join(parts, ", ") + ")"
	}
	if e := s.LastError(); e != "" {
		why += ": " + e
	}
	return why
}

// LastError is the newest task error docker reports for the service.
func (s Service) LastError() string {
	best := Task{Age: -1}
	for _, t := range s.Tasks {
		if t.Error != "" && (best.Age < 0 || t.Age < best.Age) {
			best = t
		}
	}
	return best.Error
}

// Restarts counts the tasks that ended (failed, rejected, or shut down
// by docker while it still wanted them) within the last d.
func (s Service) Restarts(d time.Duration) int {
	n := 0
	for _, t := range s.Tasks {
		if t.Desired == "running" {
			continue
		}
		if (t.State == "failed" || t.State == "rejected" || t.Error != "") && t.Age < d {
			n++
		}
	}
	return n
}

// RunningFor is the shortest time any current task has been running; 0
// when one is not running.
func (s Service) RunningFor() time.Duration {
	min := time.Duration(-1)
	for _, t := range s.Current() {
		if t.State != "running" {
			return 0
		}
		if min < 0 || t.Age < min {
			min = t.Age
		}
	}
	if min < 0 {
		return 0
	}
	return min
}

// RunningIDs are the IDs of the running tasks, sorted: a change means a
// task was replaced (a restart).
func (s Service) RunningIDs() string {
	var ids []string
	for _, t := range s.Current() {
		if t.State == "running" {
			ids = append(ids, t.ID)
		}
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// Service returns the stack's service of that (full) name.
func (st State) Service(name string) (Service, bool) {
	for _, s := range st.Services {
		if s.Name == name {
			return s, true
		}
	}
	return Service{}, false
}

// Converged reports whether every service of want (full names) is
// converged; the first that is not is named with its problem.
func (st State) Converged(want []string) (ok bool, service, problem string) {
	for _, name := range want {
		s, found := st.Service(name)
		if !found {
			return false, name, "the swarm has no such service"
		}
		if p := s.Problem(); p != "" {
			return false, name, p
		}
	}
	return true, "", ""
}

// FailedProbe returns the first probe that failed.
func (st State) FailedProbe() (Result, bool) {
	for _, r := range st.Probes {
		if !r.OK {
			return r, true
		}
	}
	return Result{}, false
}

// SameImage reports whether two image references name the same image as
// docker resolves them: a missing tag is "latest", Docker Hub's
// "docker.io/" and "library/" prefixes are implied, a digest is ignored.
func SameImage(a, b string) bool { return normalImage(a) == normalImage(b) }

func normalImage(ref string) string {
	ref, _, _ = strings.Cut(strings.TrimSpace(ref), "@")
	ref = strings.TrimPrefix(ref, "docker.io/")
	ref = strings.TrimPrefix(ref, "library/")
	last := ref[strings.LastIndex(ref, "/")+1:]
	if !strings.Contains(last, ":") {
		ref += ":latest"
	}
	return ref
}
