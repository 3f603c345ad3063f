package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/journal"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/ssh"
)

// kopnikDeploy is the step that deploys the kopnik stack.
const kopnikDeploy = kopnik.DeployID

var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// collabstackBinary builds the collabstack binary once per test process.
func collabstackBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "collabstack-e2e-bin-*")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "collabstack")
		binary.out, binary.err = exec.Command("go", "build", "-o", binary.path, "github.com/collabstack/collabstack").CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("build collabstack: %v %s", binary.err, binary.out)
	}
	return binary.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// killApplyAt runs `collabstack apply` on the site as a user would and
// kills it with -9 at a moment chosen from its progress: once its journal
// shows it began changing a step whose ID starts with prefix (an apt
// install, a swarm join, a stack deploy). The killed run must have no end
// record and still show that step as being changed; it is returned.
func killApplyAt(t *testing.T, sitePath, prefix string) *journal.Run {
	t.Helper()
	bin := collabstackBinary(t)
	journalPath := filepath.Join(strings.TrimSuffix(sitePath, filepath.Ext(sitePath))+".state", install.JournalFile)
	before := map[string]bool{}
	if recs, err := journal.Read(journalPath); err == nil {
		for _, r := range journal.Runs(recs) {
			before[r.ID] = true
		}
	}
	cmd := exec.Command(bin, "apply", "--config", sitePath, "--yes", "--plain")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	changing := func() (*journal.Run, string) {
		recs, _ := journal.Read(journalPath)
		last := journal.Last(recs)
		if last == nil || before[last.ID] {
			return nil, ""
		}
		for id := range last.Applying {
			if strings.HasPrefix(id, prefix) {
				return last, id
			}
		}
		return last, ""
	}
	deadline := time.Now().Add(30 * time.Minute)
	for {
		run, id := changing()
		if id != "" {
			break
		}
		// A run whose step of that kind failed or was blocked will not
		// begin it: say so now rather than at the deadline.
		if run != nil {
			for sid, r := range run.Steps {
				if strings.HasPrefix(sid, prefix) && (r.Status == journal.StatusFailed || r.Status == journal.StatusBlocked) {
					cmd.Process.Kill()
					<-exited
					t.Fatalf("collabstack apply will not change %s: it is %s (%s); failed before it: %v\n%s", sid, r.Status, r.Error, failedSteps(run), tail(out.String(), 30))
				}
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("collabstack apply ended (%v) before it began changing a step %s*:\n%s", err, prefix, out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			t.Fatalf("collabstack apply did not begin changing a step %s* in 30 minutes:\n%s", prefix, out.String())
		}
	}
	cmd.Process.Kill()
	<-exited
	run, id := changing()
	if run == nil || run.Finished {
		t.Fatalf("the run killed in %s* has an end record: %+v", prefix, run)
	}
	if id == "" {
		t.Fatalf("the run killed in %s* does not show it was changing it: %+v", prefix, run.Applying)
	}
	var applying []string
	for a := range run.Applying {
		applying = append(applying, a)
	}
	sort.Strings(applying)
	t.Logf("killed collabstack apply while it was changing %s (%d step results before):\n%s", strings.Join(applying, ", "), len(run.Steps), tail(out.String(), 15))
	return run
}

// reopen opens the site again, with the secrets and journal the killed
// runs left (a session opened before them holds stale secrets).
func reopen(t *testing.T, sitePath string) *install.Session {
	t.Helper()
	sess, err := install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess
}

func failedSteps(run *journal.Run) []string {
	var out []string
	for _, r := range run.Failed {
		out = append(out, r.Step+": "+r.Error)
	}
	return out
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
