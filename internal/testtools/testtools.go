// Package testtools finds the tools tests run for real (through PATH, never
// at a fixed path) and waits for the ones that start slowly, so a test
// skips only when the tool is truly missing. Under CI=true the test gate
// (internal/testgate) fails the run on such a skip unless .ci/skips.txt
// allows it; NeedDocker fails at once there instead.
package testtools

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// CI reports whether the tests run in CI (CI=true), where a missing tool
// is a broken machine, not a reason to skip.
func CI() bool { return os.Getenv("CI") == "true" }

var stackConfig struct {
	once sync.Once
	path string
	why  []string
}

// StackConfigDocker returns a docker client found on PATH that has `docker
// stack config` (docker 20.10 of Debian 12 has not; docker 23 and later
// have), trying every docker on PATH in order. The test skips when none
// has it.
func StackConfigDocker(t testing.TB) string {
	t.Helper()
	stackConfig.once.Do(func() { stackConfig.path, stackConfig.why = findStackConfig() })
	if stackConfig.path == "" {
		t.Skipf("no docker client on PATH has `docker stack config` (docker 23 or later; Debian 12's docker.io 20.10 has not): %s", strings.Join(stackConfig.why, "; "))
	}
	return stackConfig.path
}

func findStackConfig() (string, []string) {
	var why []string
	dir, err := os.MkdirTemp("", "stack-config-probe-*")
	if err != nil {
		return "", []string{err.Error()}
	}
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, "stack.yaml"), []byte("services:\n  probe:\n    image: probe.invalid/probe:1\n"), 0o600)
	for _, docker := range All("docker") {
		cmd := exec.Command(docker, "stack", "config", "-c", "stack.yaml")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		// Older clients print the usage of `docker stack` and exit 0.
		if err == nil && strings.Contains(string(out), "probe.invalid/probe:1") {
			return docker, why
		}
		why = append(why, docker+": "+firstLine(string(out), err))
	}
	if len(why) == 0 {
		why = []string{"no docker on PATH"}
	}
	return "", why
}

// All returns every executable named name on PATH, in PATH order, without
// duplicates of the same file.
func All(name string) []string {
	var out []string
	seen := map[string]bool{}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			real = p
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		out = append(out, p)
	}
	return out
}

func firstLine(out string, err error) string {
	s := strings.TrimSpace(out)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if err != nil {
		s = err.Error() + " " + s
	}
	if s == "" {
		s = "no such command"
	}
	return s
}

// DockerWait is how long NeedDocker waits for dockerd to answer: on a
// 2-core machine running the whole suite, `docker info` can take long.
var DockerWait = 3 * time.Minute

var dockerUp struct {
	mu sync.Mutex
	ok bool
}

// NeedDocker waits for a dockerd to answer `docker info` (up to
// DockerWait). When none does, the test fails under CI=true and skips
// elsewhere.
func NeedDocker(t testing.TB) {
	t.Helper()
	dockerUp.mu.Lock()
	defer dockerUp.mu.Unlock()
	if dockerUp.ok {
		return
	}
	if _, err := exec.LookPath("docker"); err != nil {
		missing(t, "no docker client on PATH (apt-get install docker.io)")
		return
	}
	deadline := time.Now().Add(DockerWait)
	var last string
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
		cancel()
		if err == nil && strings.TrimSpace(string(out)) != "" {
			dockerUp.ok = true
			return
		}
		last = firstLine(string(out), err)
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	missing(t, "no dockerd answered `docker info` within "+DockerWait.String()+" ("+last+"): start one with `dockerd &` or `systemctl start docker`; scripts/test does")
}

// NeedCommand makes sure name is on PATH: under CI=true a missing tool
// fails the test (scripts/test installs it), elsewhere the test skips
// with the hint.
func NeedCommand(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name+" is not on PATH ("+hint+")")
	}
	return p
}

func missing(t testing.TB, msg string) {
	t.Helper()
	if CI() {
		t.Fatal(msg + " [CI=true: a missing tool fails the test]")
	}
	t.Skip(msg)
}
