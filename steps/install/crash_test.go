package install

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
		sess, err := Open(site, testOptions(os.Getenv("COLLABSTACK_CRASH_CHILD_DIR"), n))
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
// some run in parallel.
func testOptions(dir string, n int) Options {
	return Options{Dialer: ssh.DialerFor, Build: func(s *Session) (*engine.Plan, error) {
		p := engine.NewPlan()
		for i := 0; i < n; i++ {
			path := filepath.Join(dir, fmt.Sprintf("step-%03d", i))
			var needs []string
			if i >= 2 {
				needs = []string{fmt.Sprintf("write/%03d", i-2)}
			}
			p.MustAdd(&engine.Func{
				StepID: fmt.Sprintf("write/%03d", i), Name: fmt.Sprintf("Write file %d", i), On: "main", Needs: needs, Comp: "files",
				CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
					_, err := env.Host.Run(ctx, "test -f "+host.Quote(path), host.RunOpts{})
					return err == nil, nil
				},
				ApplyFunc: func(ctx context.Context, env *engine.Env) error {
					secret, err := env.Secrets.Password("file-secret", 24)
					if err != nil {
						return err
					}
					if _, err := env.Run(ctx, "sleep 0.05; echo writing with "+secret); err != nil {
						return err
					}
					return env.Host.Upload(ctx, path, []byte("step done\n"), 0o644, "")
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
    role: manager
`, srv.Port, user, srv.KeyFile)
	p := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(p, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func stepRecords(t testing.TB, path string) int {
	recs, _ := journal.Read(path)
	n := 0
	for _, r := range recs {
		if r.Kind == journal.KindStep {
			n++
		}
	}
	return n
}

func TestKillDashNineThenRerunConverges(t *testing.T) {
	srv := sshtest.Start(t)
	sitePath := writeSite(t, srv, loginUser(t, srv))
	out := sharedDir(t)
	const steps = 40
	journalPath := filepath.Join(filepath.Dir(sitePath), "site.state", JournalFile)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "COLLABSTACK_CRASH_CHILD_SITE="+sitePath, "COLLABSTACK_CRASH_CHILD_DIR="+out, "COLLABSTACK_CRASH_CHILD_STEPS="+strconv.Itoa(steps))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it in the middle: once some steps are journaled, well before all.
	deadline := time.Now().Add(60 * time.Second)
	for stepRecords(t, journalPath) < steps/4 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("the child apply made no progress: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	killedAt := stepRecords(t, journalPath)
	if killedAt >= steps {
		t.Fatalf("the child finished before it was killed (%d steps)", killedAt)
	}
	recs, _ := journal.Read(journalPath)
	if last := journal.Last(recs); last == nil || last.Finished {
		t.Fatalf("the killed run should have no end record: %+v", last)
	}

	// Re-run: it resumes (the killed run's lock is taken over at once)
	// and converges.
	sess, err := Open(sitePath, testOptions(out, steps))
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sum, err := sess.Run(context.Background(), RunOptions{Command: "apply"})
	if err != nil {
		t.Fatalf("re-run after kill -9: %v", err)
	}
	if sum.Changed+sum.Unchanged != steps || sum.Unchanged < killedAt-2 {
		t.Errorf("re-run: %+v after %d steps journaled", sum, killedAt)
	}
	for i := 0; i < steps; i++ {
		if _, err := os.Stat(filepath.Join(out, fmt.Sprintf("step-%03d", i))); err != nil {
			t.Errorf("step %d not done: %v", i, err)
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
