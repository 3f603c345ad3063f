package ssh

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func testOptions(t *testing.T) Options {
	t.Helper()
	kh, err := Open(filepath.Join(t.TempDir(), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	return Options{KnownHosts: kh, ReconnectTimeout: 30 * time.Second, KeepAlive: 2 * time.Second}
}

func dial(t *testing.T, spec host.Spec, opts Options) *Host {
	t.Helper()
	h, err := Dial(testCtx(t), spec, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// lines collects Output lines safely.
type lines struct {
	mu sync.Mutex
	l  []string
}

func (l *lines) add(s string) { l.mu.Lock(); l.l = append(l.l, s); l.mu.Unlock() }
func (l *lines) all() string  { l.mu.Lock(); defer l.mu.Unlock(); return strings.Join(l.l, "\n") }

func TestRunStreamsOutput(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	var got lines
	out, err := h.Run(testCtx(t), `echo one; echo two >&2; printf 'three\nfour'`, host.RunOpts{Output: got.add})
	if err != nil {
		t.Fatal(err)
	}
	if out != "one\nthree\nfour" {
		t.Errorf("stdout = %q", out)
	}
	for _, want := range []string{"one", "two", "three", "four"} {
		if !strings.Contains(got.all()+"\n", want+"\n") {
			t.Errorf("Output lines %q lack %q", got.all(), want)
		}
	}

	out, err = h.Run(testCtx(t), `echo "$GREETING"; cat`, host.RunOpts{
		Env:   map[string]string{"GREETING": "it's a 'quoted' $value"},
		Stdin: []byte("from stdin\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if out != "it's a 'quoted' $value\nfrom stdin\n" {
		t.Errorf("env/stdin: stdout = %q", out)
	}
}

func TestRunExitError(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	_, err := h.Run(testCtx(t), `echo partial; echo "something broke" >&2; exit 3`, host.RunOpts{})
	var ee *host.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("want *host.ExitError, got %T %v", err, err)
	}
	if ee.Code != 3 || !strings.Contains(ee.Stderr, "something broke") || ee.Host != "box" {
		t.Errorf("ExitError = %+v", ee)
	}
}

func TestSudoAsRoot(t *testing.T) {
	s := sshtest.Start(t)
	if s.User != "root" {
		t.Skip("needs root")
	}
	h := dial(t, s.Spec("box"), testOptions(t))
	out, err := h.Run(testCtx(t), "id -u", host.RunOpts{Sudo: true})
	if err != nil || strings.TrimSpace(out) != "0" {
		t.Fatalf("sudo as root: %q, %v", out, err)
	}
}

func TestSudoWithPassword(t *testing.T) {
	s := sshtest.Start(t)
	u := s.AddUser(t, sshtest.SudoWithPassword)
	for name, spec := range map[string]host.Spec{"key": u.Spec("box"), "password": u.PasswordSpec("box")} {
		t.Run(name, func(t *testing.T) {
			h := dial(t, spec, testOptions(t))
			var got lines
			out, err := h.Run(testCtx(t), "id -un", host.RunOpts{Output: got.add})
			if err != nil || strings.TrimSpace(out) != u.Name {
				t.Fatalf("id -un = %q, %v", out, err)
			}
			out, err = h.Run(testCtx(t), `id -u; echo "$WHO"; cat`, host.RunOpts{
				Sudo: true, Output: got.add, Env: map[string]string{"WHO": "root via sudo"}, Stdin: []byte("line 1\nline 2\n"),
			})
			if err != nil {
				t.Fatalf("sudo: %v", err)
			}
			if out != "0\nroot via sudo\nline 1\nline 2\n" {
				t.Errorf("sudo stdout = %q (the password line must not reach the command)", out)
			}
			// A command that prints the password: it is redacted.
			_, err = h.Run(testCtx(t), "echo leaked "+u.Password+"; echo "+u.Password+" >&2; exit 4", host.RunOpts{Sudo: true, Output: got.add})
			var ee *host.ExitError
			if !errors.As(err, &ee) || ee.Code != 4 {
				t.Fatalf("want exit 4, got %v", err)
			}
			if strings.Contains(err.Error(), u.Password) || strings.Contains(got.all(), u.Password) {
				t.Errorf("the password leaked: err %q, output %q", err, got.all())
			}
			if !strings.Contains(got.all(), "leaked [redacted]") {
				t.Errorf("output %q lacks the redacted line", got.all())
			}
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		spec := u.Spec("box")
		spec.SudoPassword = "not-the-password-123"
		h := dial(t, spec, testOptions(t))
		var got lines
		start := time.Now()
		_, err := h.Run(testCtx(t), "cat", host.RunOpts{Sudo: true, Output: got.add, Stdin: []byte("payload\n")})
		if err == nil {
			t.Fatal("sudo with a wrong password succeeded")
		}
		if !strings.Contains(err.Error(), "password was refused") {
			t.Errorf("error %q does not say the password was refused", err)
		}
		if strings.Contains(err.Error()+got.all(), spec.SudoPassword) {
			t.Errorf("the password leaked: %q %q", err, got.all())
		}
		if time.Since(start) > 20*time.Second {
			t.Errorf("took %s", time.Since(start))
		}
	})

	t.Run("no password given", func(t *testing.T) {
		spec := u.Spec("box")
		spec.SudoPassword = ""
		h := dial(t, spec, testOptions(t))
		_, err := h.Run(testCtx(t), "id -u", host.RunOpts{Sudo: true})
		var ee *host.ExitError
		if !errors.As(err, &ee) || !strings.Contains(ee.Stderr, "sudo password") {
			t.Fatalf("want an ExitError hinting at the sudo password, got %v", err)
		}
	})
}

func TestSudoNoPasswordNeeded(t *testing.T) {
	s := sshtest.Start(t)
	u := s.AddUser(t, sshtest.SudoNoPassword)
	// A sudo password is configured but sudo never asks for it: it must
	// not end up on the command's stdin.
	h := dial(t, u.Spec("box"), testOptions(t))
	out, err := h.Run(testCtx(t), "id -u; cat", host.RunOpts{Sudo: true, Stdin: []byte("only this\n")})
	if err != nil || out != "0\nonly this\n" {
		t.Fatalf("got %q, %v", out, err)
	}
	spec := u.Spec("box")
	spec.SudoPassword = ""
	h = dial(t, spec, testOptions(t))
	out, err = h.Run(testCtx(t), "id -u", host.RunOpts{Sudo: true})
	if err != nil || out != "0\n" {
		t.Fatalf("sudo -n: %q, %v", out, err)
	}
}

func TestUploadAtomic(t *testing.T) {
	s := sshtest.Start(t)
	if s.User != "root" {
		t.Skip("needs root to set an owner")
	}
	h := dial(t, s.Spec("box"), testOptions(t))
	ctx := testCtx(t)
	dir := filepath.Join(t.TempDir(), "etc", "app")
	target := filepath.Join(dir, "config")

	if err := h.Upload(ctx, target, []byte("first\n"), 0o640, "nobody"); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(target)
	if err != nil {
		t.Fatal(err)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 || strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)) != nobody.Uid {
		t.Errorf("mode %v uid %d, want 0640 owned by nobody", st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
	data, err := h.ReadFile(ctx, target)
	if err != nil || string(data) != "first\n" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}

	// Readers see one version or the other, never a mix.
	a := bytes.Repeat([]byte("a"), 2<<20)
	b := bytes.Repeat([]byte("b"), 2<<20)
	stop := make(chan struct{})
	var bad []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(target)
			if err != nil {
				bad = append(bad, err.Error())
				continue
			}
			if len(got) > 6 && !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				bad = append(bad, "partial content of "+strconv.Itoa(len(got))+" bytes")
			}
		}
	}()
	for i := range 6 {
		data := a
		if i%2 == 1 {
			data = b
		}
		if err := h.Upload(ctx, target, data, 0o600, ""); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if len(bad) > 0 {
		t.Errorf("readers saw %d bad reads, first: %s", len(bad), bad[0])
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("temporary files left behind: %v", names)
	}
	if st, _ := os.Stat(target); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode())
	}

	_, err = h.ReadFile(ctx, filepath.Join(dir, "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestUploadThroughSudo(t *testing.T) {
	s := sshtest.Start(t)
	u := s.AddUser(t, sshtest.SudoWithPassword)
	h := dial(t, u.Spec("box"), testOptions(t))
	ctx := testCtx(t)
	var got lines
	// t.TempDir is root's and mode 0700: the user can neither write nor
	// read there without sudo.
	dir := filepath.Join(t.TempDir(), "srv")
	target := filepath.Join(dir, "secret.conf")
	if err := h.Upload(ctx, target, []byte("token=abc\n"), 0o600, ""); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(target)
	if err != nil || st.Mode().Perm() != 0o600 || st.Sys().(*syscall.Stat_t).Uid != 0 {
		t.Fatalf("stat: %v %v", st, err)
	}
	if err := h.Upload(ctx, target+".user", []byte("mine\n"), 0o644, u.Name); err != nil {
		t.Fatal(err)
	}
	lu, _ := user.Lookup(u.Name)
	if st, err := os.Stat(target + ".user"); err != nil || strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)) != lu.Uid || st.Mode().Perm() != 0o644 {
		t.Fatalf("owned upload: %v %v", st, err)
	}
	data, err := h.ReadFile(ctx, target)
	if err != nil || string(data) != "token=abc\n" {
		t.Fatalf("ReadFile through sudo = %q, %v", data, err)
	}
	_, err = h.ReadFile(ctx, filepath.Join(dir, "missing"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadFile of a missing file through sudo: %v", err)
	}
	if strings.Contains(got.all(), u.Password) {
		t.Error("password leaked")
	}
	// The user's own files go through SFTP directly.
	home := "/home/" + u.Name + "/f.txt"
	if err := h.Upload(ctx, home, []byte("x"), 0o600, ""); err != nil {
		t.Fatal(err)
	}
	if data, err := h.ReadFile(ctx, home); err != nil || string(data) != "x" {
		t.Fatalf("ReadFile = %q, %v", data, err)
	}
}

func TestHostKeyPinning(t *testing.T) {
	s := sshtest.Start(t)
	opts := testOptions(t)
	h := dial(t, s.Spec("box"), opts)
	if fp := s.Fingerprint(t); h.Fingerprint() != fp {
		t.Errorf("Fingerprint() = %q, ssh-keygen says %q", h.Fingerprint(), fp)
	}
	h.Close()
	path := opts.KnownHosts.Path()
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("known hosts file: %v %v", st, err)
	}
	// Reopened from the file, the pin holds.
	kh, err := Open(path)
	if err != nil || len(kh.Lookup("box", s.Addr)) != 1 {
		t.Fatalf("reopen: %v, %d keys", err, len(kh.Lookup("box", s.Addr)))
	}
	opts.KnownHosts = kh
	dial(t, s.Spec("box"), opts).Close()

	oldFP := s.Fingerprint(t)
	s.RegenerateHostKey(t)
	s.Restart(t)
	_, err = Dial(testCtx(t), s.Spec("box"), opts)
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("want *HostKeyMismatchError, got %T %v", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"box", s.Addr, oldFP, s.Fingerprint(t), path, "reinstalled", "remove the line"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// Forget lets the new key be pinned.
	if err := kh.Forget("box"); err != nil {
		t.Fatal(err)
	}
	if h := dial(t, s.Spec("box"), opts); h.Fingerprint() != s.Fingerprint(t) {
		t.Errorf("after Forget: %s", h.Fingerprint())
	}
}

func TestReconnect(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	ctx := testCtx(t)
	type result struct {
		i   int
		err error
	}
	results := make(chan result, 100)
	restarted := make(chan struct{})
	go func() {
		for i := range 20 {
			if i == 10 {
				<-restarted
			}
			_, err := h.Run(ctx, "echo "+strconv.Itoa(i), host.RunOpts{})
			results <- result{i, err}
			time.Sleep(20 * time.Millisecond)
		}
		close(results)
	}()
	time.Sleep(100 * time.Millisecond)
	s.Stop()
	close(restarted)
	time.Sleep(700 * time.Millisecond) // sshd is down: Runs wait and redial
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	var failed []string
	for r := range results {
		if r.err != nil {
			failed = append(failed, r.err.Error())
			if r.i >= 10 {
				t.Errorf("run %d after the restart failed: %v", r.i, r.err)
			}
		}
	}
	// A command in flight when the connection dropped may fail, clearly.
	for _, f := range failed {
		if !strings.Contains(f, "dropped") {
			t.Errorf("unexpected failure: %s", f)
		}
	}
	if n := h.Connections(); n != 2 {
		t.Errorf("Connections() = %d, want 2", n)
	}
}

func TestReconnectGivesUp(t *testing.T) {
	s := sshtest.Start(t)
	opts := testOptions(t)
	opts.ReconnectTimeout = time.Second
	h := dial(t, s.Spec("box"), opts)
	s.Stop()
	start := time.Now()
	_, err := h.Run(testCtx(t), "true", host.RunOpts{})
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), "gave up") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("took %s", time.Since(start))
	}
}

func TestDialRetry(t *testing.T) {
	s := sshtest.Start(t)
	s.Stop()
	opts := testOptions(t)
	opts.Retry = 30 * time.Second
	go func() {
		time.Sleep(time.Second)
		if err := s.Resume(); err != nil {
			t.Error(err)
		}
	}()
	h := dial(t, s.Spec("box"), opts)
	if out, err := h.Run(testCtx(t), "echo up", host.RunOpts{}); err != nil || out != "up\n" {
		t.Fatalf("%q %v", out, err)
	}
}

func TestKeepAliveDropsHungConnection(t *testing.T) {
	s := sshtest.Start(t)
	opts := testOptions(t)
	opts.KeepAlive = 300 * time.Millisecond
	h := dial(t, s.Spec("box"), opts)
	thaw := s.FreezeConnections()
	defer thaw()
	start := time.Now()
	out, err := h.Run(testCtx(t), "echo alive", host.RunOpts{})
	if err != nil || out != "alive\n" {
		t.Fatalf("%q %v", out, err)
	}
	if h.Connections() != 2 {
		t.Errorf("Connections() = %d, want 2", h.Connections())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestAgentAuth(t *testing.T) {
	s := sshtest.Start(t)
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("ssh-agent is not installed")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", s.KeyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	spec := s.Spec("box")
	spec.KeyFile = ""
	spec.Agent = true
	h := dial(t, spec, testOptions(t))
	if out, err := h.Run(testCtx(t), "echo agent", host.RunOpts{}); err != nil || out != "agent\n" {
		t.Fatalf("%q %v", out, err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := Dial(testCtx(t), spec, testOptions(t)); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Errorf("no agent: %v", err)
	}
}

func TestConcurrentRunsShareConnection(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	ctx := testCtx(t)
	const n = 25 // more than sshd's MaxSessions (10)
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], errs[i] = h.Run(ctx, `echo "$SSH_CLIENT"; sleep 0.2`, host.RunOpts{})
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		// SSH_CLIENT is "client-ip client-port server-port": one TCP
		// connection means one client port.
		if outs[i] != outs[0] {
			t.Fatalf("runs came from different connections: %q vs %q", outs[i], outs[0])
		}
	}
	if h.Connections() != 1 {
		t.Errorf("Connections() = %d", h.Connections())
	}
}

func TestCancel(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := h.Run(ctx, "sleep 30", host.RunOpts{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want DeadlineExceeded, got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %s", d)
	}
	if out, err := h.Run(testCtx(t), "echo still here", host.RunOpts{}); err != nil || out != "still here\n" {
		t.Errorf("after cancel: %q %v", out, err)
	}
}

func TestJumpHost(t *testing.T) {
	s := sshtest.Start(t)
	opts := testOptions(t)
	jump := dial(t, s.Spec("pve1"), opts)
	vmOpts := opts
	vmOpts.Jump = jump
	vmSpec := s.Spec("vm")
	vmSpec.Jump = "pve1"
	vm := dial(t, vmSpec, vmOpts)
	if out, err := vm.Run(testCtx(t), "echo through", host.RunOpts{}); err != nil || out != "through\n" {
		t.Fatalf("%q %v", out, err)
	}
	// The VM's connection runs inside the jump host's: closing that one
	// takes the VM's down with it.
	jump.Close()
	_, err := vm.Run(testCtx(t), "true", host.RunOpts{})
	if err == nil {
		t.Fatal("the VM connection survived its jump host's")
	}

	// The same through the engine's inventory.
	kh, _ := Open(filepath.Join(t.TempDir(), "kh"))
	inv := engine.NewInventory(Dialer(kh, nil), s.Spec("pve1"), vmSpec, host.Spec{Name: "here", Local: true})
	defer inv.Close()
	vh, err := inv.Get(testCtx(t), "vm")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := vh.Run(testCtx(t), "echo inv", host.RunOpts{}); err != nil || out != "inv\n" {
		t.Fatalf("%q %v", out, err)
	}
	if lh, err := inv.Get(testCtx(t), "here"); err != nil {
		t.Fatal(err)
	} else if _, ok := lh.(*host.Local); !ok {
		t.Errorf("local spec gave %T", lh)
	}
}

func TestRedaction(t *testing.T) {
	s := sshtest.Start(t)
	const secret = "s3cr3t-Value-42"
	opts := testOptions(t)
	opts.Redact = func(s string) string { return strings.ReplaceAll(s, secret, "[redacted]") }
	h := dial(t, s.Spec("box"), opts)
	var got lines
	_, err := h.Run(testCtx(t), "echo token "+secret+"; echo "+secret+" >&2; exit 1", host.RunOpts{Output: got.add})
	if err == nil {
		t.Fatal("want an error")
	}
	var ee *host.ExitError
	if !errors.As(err, &ee) || strings.Contains(ee.Command+ee.Stderr, secret) {
		t.Errorf("ExitError holds the secret: %+v", ee)
	}
	if strings.Contains(err.Error(), secret) || strings.Contains(got.all(), secret) {
		t.Errorf("secret leaked: err %q, output %q", err, got.all())
	}
	if !strings.Contains(got.all(), "token [redacted]") {
		t.Errorf("output %q", got.all())
	}
	// Errors that are not ExitErrors are redacted too.
	err = h.Upload(testCtx(t), "relative/"+secret, nil, 0o600, "")
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("upload error %v", err)
	}
}

func TestDialErrors(t *testing.T) {
	s := sshtest.Start(t)
	ctx := testCtx(t)
	check := func(name string, spec host.Spec, wants ...string) {
		t.Helper()
		_, err := Dial(ctx, spec, testOptions(t))
		if err == nil {
			t.Errorf("%s: Dial succeeded", name)
			return
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", name, err, w)
			}
		}
	}
	spec := s.Spec("box")
	spec.Port = freePort(t)
	check("refused", spec, "connect to box (127.0.0.1:", "connection refused", "sshd runs on port")

	spec = s.Spec("box")
	spec.KeyFile = filepath.Join(t.TempDir(), "nope")
	check("missing key", spec, spec.KeyFile, "does not exist", "hosts add-key")

	spec = s.Spec("box")
	spec.KeyFile = s.KeyFile + ".pub"
	check("public key", spec, spec.KeyFile, "not a private key")

	other := filepath.Join(t.TempDir(), "other")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f", other).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	spec = s.Spec("box")
	spec.KeyFile = other
	check("passphrase", spec, other, "passphrase", "ssh-add", "agent")

	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other+"2").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	spec = s.Spec("box")
	spec.KeyFile = other + "2"
	check("unauthorised key", spec, "log in to box", "authorized_keys")
}

func TestReboot(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	bootFile := filepath.Join(t.TempDir(), "boot_id")
	if err := os.WriteFile(bootFile, []byte("boot-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.bootIDCommand = "cat " + bootFile
	var resumed sync.WaitGroup
	fakeReboot := func(newID string) func(context.Context) error {
		return func(context.Context) error {
			if newID != "" {
				os.WriteFile(bootFile, []byte(newID+"\n"), 0o644)
			}
			s.Stop()
			resumed.Add(1)
			go func() {
				defer resumed.Done()
				time.Sleep(800 * time.Millisecond)
				if err := s.Resume(); err != nil {
					t.Error(err)
				}
			}()
			return nil
		}
	}
	h.rebootFn = fakeReboot("boot-2")
	if err := h.Reboot(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	resumed.Wait()
	if h.Connections() != 2 {
		t.Errorf("Connections() = %d", h.Connections())
	}
	h.rebootFn = fakeReboot("")
	err := h.Reboot(testCtx(t))
	resumed.Wait()
	if err == nil || !strings.Contains(err.Error(), "did not reboot") {
		t.Errorf("unchanged boot id: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	// A port nothing listens on: bind one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
