package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/journal"
	"github.com/collabstack/collabstack/steps/ssh"
)

// The child mode of TestKillDashNineThenRerunConverges: the test binary
// re-executes itself to run an apply that the parent kills with -9.
func TestMain(m *testing.M) {
	if site := os.Getenv("COLLABSTACK_CRASH_CHILD_SITE"); site != "" {
		n, _ := strconv.Atoi(os.Getenv("COLLABSTACK_CRASH_CHILD_STEPS"))
		o := testOptions(os.Getenv("COLLABSTACK_CRASH_CHILD_DIR"), n)
		if h := os.Getenv("COLLABSTACK_CRASH_CHILD_HOLD"); h != "" {
			o = holdOptions(os.Getenv("COLLABSTACK_CRASH_CHILD_DIR"), n, h)
		}
		sess, err := Open(site, o)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_, err = sess.Run(context.Background(), RunOptions{Command: "apply"})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// testOptions builds a plan of n file-writing steps on host "main": each
// writes its own file in dir (checking for it first), chained in pairs so
// some run in parallel. Each finished change is also appended to
// dir/ledger, so a step applied twice shows there.
func testOptions(dir string, n int) Options { return holdOptions(dir, n, "") }

// holdOptions is testOptions where the step named hold takes long to make
// its change (as an apt install or a stack deploy does), so a test can
// kill the run while that change is under way.
func holdOptions(dir string, n int, hold string) Options {
	ledger := filepath.Join(dir, "ledger")
	return Options{Dialer: ssh.DialerFor, Build: func(s *Session) (*engine.Plan, error) {
		p := engine.NewPlan()
		for i := 0; i < n; i++ {
			path := filepath.Join(dir, fmt.Sprintf("step-%03d", i))
			var needs []string
			if i >= 2 {
				needs = []string{fmt.Sprintf("write/%03d", i-2)}
			}
			id := fmt.Sprintf("write/%03d", i)
			p.MustAdd(&engine.Func{
				StepID: id, Name: fmt.Sprintf("Write file %d", i), On: "main", Needs: needs, Comp: "files",
				CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
					_, err := env.Host.Run(ctx, "test -f "+host.Quote(path), host.RunOpts{})
					return err == nil, nil
				},
				ApplyFunc: func(ctx context.Context, env *engine.Env) error {
					secret, err := env.Secrets.Password("file-secret", 24)
					if err != nil {
						return err
					}
					pause := "0.05"
					if id == hold {
						pause = "120"
					}
					if _, err := env.Run(ctx, "sleep "+pause+"; echo writing with "+secret); err != nil {
						return err
					}
					if err := env.Host.Upload(ctx, path, []byte("step done\n"), 0o644, ""); err != nil {
						return err
					}
					_, err = env.Host.Run(ctx, "echo "+host.Quote(id)+" >> "+host.Quote(ledger), host.RunOpts{})
					return err
				},
			})
		}
		return p, nil
	}}
}

// loginUser is a throwaway user with passwordless sudo and /bin/sh as its
// shell: the tests measure collabstack, not the login scripts of root on
// the test machine.
func loginUser(t testing.TB, srv *sshtest.Server) string {
	t.Helper()
	return srv.AddUser(t, sshtest.SudoNoPassword).Name
}

// sharedDir is a folder the throwaway user can write to.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "collabstack-out-*")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func writeSite(t testing.TB, srv *sshtest.Server, user string) string {
	t.Helper()
	dir := t.TempDir()
	site := fmt.Sprintf(`version: 1
topology: kopnik
domain: crash.example.org
admin_email: admin@crash.example.org
hosts:
  - name: main
    address: 127.0.0.1
    port: %d
    user: %s
    auth: {method: key, key_file: %s}
    host_key: %s
    role: manager
`, srv.Port, user, srv.KeyFile, srv.Spec("main").HostKey)
	p := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(p, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKillDashNineThenRerunConverges kills applies with -9 at moments
// chosen from their progress, not the clock: each run is killed once the
// journal shows it began changing a chosen step (one whose change takes
// long, as an apt install or a stack deploy does), at three points in
// three runs in turn. Each killed run has no end record and shows the step
// it was changing; the run after them converges, every change made before
// a kill is kept and none is made twice.
func TestKillDashNineThenRerunConverges(t *testing.T) {
	srv := sshtest.Start(t)
	sitePath := writeSite(t, srv, loginUser(t, srv))
	out := sharedDir(t)
	const steps = 40
	journalPath := filepath.Join(filepath.Dir(sitePath), "site.state", JournalFile)

	killedRuns := map[string]bool{}
	for _, hold := range []string{"write/003", "write/017", "write/031"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "COLLABSTACK_CRASH_CHILD_SITE="+sitePath, "COLLABSTACK_CRASH_CHILD_DIR="+out,
			"COLLABSTACK_CRASH_CHILD_STEPS="+strconv.Itoa(steps), "COLLABSTACK_CRASH_CHILD_HOLD="+hold)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Kill it once its journal shows the chosen step began its change.
		deadline := time.Now().Add(2 * time.Minute)
		for {
			recs, _ := journal.Read(journalPath)
			if last := journal.Last(recs); last != nil && !killedRuns[last.ID] && last.Applying[hold].Step == hold {
				break
			}
			select {
			case err := <-exited:
				t.Fatalf("the child apply ended (%v) before it began changing %s: %s", err, hold, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-exited
				t.Fatalf("the child apply never began changing %s: %s", hold, stderr.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		recs, _ := journal.Read(journalPath)
		last := journal.Last(recs)
		if last == nil || last.Finished || killedRuns[last.ID] {
			t.Fatalf("the run killed in %s should be the last, with no end record: %+v", hold, last)
		}
		killedRuns[last.ID] = true
		if _, ok := last.Applying[hold]; !ok {
			t.Fatalf("the run killed in %s does not show it was changing it: %+v", hold, last.Applying)
		}
		if _, err := os.Stat(filepath.Join(out, "step-"+strings.TrimPrefix(hold, "write/"))); err == nil {
			t.Fatalf("%s finished its change before the kill", hold)
		}
		t.Logf("killed run %s while changing %v, after %d step results", last.ID, keys(last.Applying), len(last.Steps))
	}
	if got := len(journal.Runs(mustRead(t, journalPath))); got != 3 {
		t.Fatalf("want the 3 killed runs in the journal, got %d", got)
	}
	doneBefore := len(ledger(t, out))

	// Re-run: it resumes (the killed run's lock is taken over at once)
	// and converges, changing only what the killed runs had not finished.
	sess, err := Open(sitePath, testOptions(out, steps))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sum, err := sess.Run(context.Background(), RunOptions{Command: "apply"})
	if err != nil {
		t.Fatalf("re-run after kill -9: %v", err)
	}
	if sum.Changed+sum.Unchanged != steps || sum.Unchanged != doneBefore {
		t.Errorf("re-run: %+v after %d changes made by the killed runs", sum, doneBefore)
	}
	for i := 0; i < steps; i++ {
		if data, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("step-%03d", i))); err != nil || string(data) != "step done\n" {
			t.Errorf("step %d not done: %q %v", i, data, err)
		}
	}
	// Every change made once: none made before a kill was made again.
	seen := map[string]int{}
	for _, id := range ledger(t, out) {
		seen[id]++
	}
	if len(seen) != steps {
		t.Errorf("%d of %d steps made their change", len(seen), steps)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s made its change %d times", id, n)
		}
	}
	// A third run changes nothing.
	sum, err = sess.Run(context.Background(), RunOptions{Command: "apply"})
	if err != nil || sum.Changed != 0 || sum.Unchanged != steps {
		t.Errorf("no-op re-run: %+v %v", sum, err)
	}
	// The secret used by the steps never reached the journal.
	secret, _ := sess.Secrets.Get("file-secret")
	data, _ := os.ReadFile(journalPath)
	if secret == "" || strings.Contains(string(data), secret) {
		t.Errorf("secret missing or leaked into the journal")
	}
	st, err := sess.Status(context.Background(), 10*time.Second)
	if err != nil || len(st.Deployed) != 1 || st.Deployed[0] != "files" || st.Hosts[0].Err != nil || !st.LastRun.Finished {
		t.Errorf("status: %+v %v", st, err)
	}
}

func mustRead(t *testing.T, path string) []journal.Record {
	t.Helper()
	recs, err := journal.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// ledger lists the changes the steps finished, in order.
func ledger(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "ledger"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

func keys(m map[string]journal.Record) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSecondApplyIsLockedOut(t *testing.T) {
	srv := sshtest.Start(t)
	sitePath := writeSite(t, srv, loginUser(t, srv))
	out := sharedDir(t)
	sess, err := Open(sitePath, testOptions(out, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	ll, err := lockLocal(sess.StateDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = sess.Run(context.Background(), RunOptions{})
	ll.release()
	if err == nil || !strings.Contains(err.Error(), ErrLocked.Error()) {
		t.Fatalf("second apply on the same machine: %v", err)
	}
	// A holder on another machine, refreshed recently, stops the run too.
	h, err := sess.Hosts.Get(context.Background(), "main")
	if err != nil {
		t.Fatal(err)
	}
	other, err := lockRemote(context.Background(), h, "someone@elsewhere pid 1 since now")
	if err != nil {
		t.Fatal(err)
	}
	_, err = sess.Run(context.Background(), RunOptions{})
	other.release()
	if err == nil || !strings.Contains(err.Error(), "someone@elsewhere") {
		t.Fatalf("apply while another machine holds the lock: %v", err)
	}
	if _, err := sess.Run(context.Background(), RunOptions{}); err != nil {
		t.Fatalf("after release: %v", err)
	}
}
