package install

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/templates"
)

// ErrLocked is returned when another apply holds the site's lock.
var ErrLocked = errors.New("another apply is running on this site")

// localLock holds an flock on a file in the state dir. The kernel drops
// it when the process dies, so a killed apply never leaves it behind.
type localLock struct{ f *os.File }

func lockLocal(stateDir string) (*localLock, error) {
	path := filepath.Join(stateDir, "apply.lock")
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("make the state directory %s: %w", stateDir, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, engine.WithHint(fmt.Errorf("%w (process %s)", ErrLocked, string(holder)), "wait for it to finish, or stop it with Ctrl-C; it resumes on the next apply")
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	return &localLock{f: f}, nil
}

func (l *localLock) release() {
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}

// remoteLock is a lock file on the first host with a heartbeat, as k0sctl
// does: an apply from another machine sees it and stops; a lock whose
// holder was killed goes stale and is taken over.
type remoteLock struct {
	h      host.Host
	holder string
	stop   chan struct{}
	done   chan struct{}
}

const (
	remoteLockStale   = 90 * time.Second
	remoteLockRefresh = 20 * time.Second
)

func lockRemote(ctx context.Context, h host.Host, holder string) (*remoteLock, error) {
	l := &remoteLock{h: h, holder: holder, stop: make(chan struct{}), done: make(chan struct{})}
	if err := l.do(ctx, "acquire"); err != nil {
		var ee *host.ExitError
		if errors.As(err, &ee) && ee.Code == 3 && deadLocalHolder(ee.Stderr) {
			err = l.do(ctx, "takeover")
		}
		if errors.As(err, &ee) && ee.Code == 3 {
			return nil, engine.WithHint(fmt.Errorf("%w: %s: %s", ErrLocked, h.Name(), ee.Stderr), "wait for the other apply to finish; if it was killed, the lock frees itself within %v", remoteLockStale)
		}
		if err != nil {
			return nil, fmt.Errorf("take the apply lock on %s: %w", h.Name(), err)
		}
	}
	go func() {
		defer close(l.done)
		t := time.NewTicker(remoteLockRefresh)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				rctx, cancel := context.WithTimeout(context.Background(), remoteLockRefresh)
				l.do(rctx, "refresh")
				cancel()
			}
		}
	}()
	return l, nil
}

func (l *remoteLock) release() {
	close(l.stop)
	<-l.done
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l.do(ctx, "release")
}

func (l *remoteLock) do(ctx context.Context, action string) error {
	script, err := templates.FS.ReadFile("engine/lock.sh")
	if err != nil {
		return err
	}
	_, err = l.h.Run(ctx, "sh -s -- "+action, host.RunOpts{
		Sudo:  true,
		Stdin: script,
		Env:   map[string]string{"HOLDER": l.holder, "DIR": layout.Root, "STALE": strconv.Itoa(int(remoteLockStale.Seconds()))},
	})
	return err
}

var holderRE = regexp.MustCompile(`another apply holds the lock: \S+@(\S+) pid (\d+) `)

// deadLocalHolder reports whether the lock's holder was an apply on this
// machine whose process is gone: killed with -9, it could not release the
// lock, and waiting for it to go stale would only delay the resume.
func deadLocalHolder(stderr string) bool {
	m := holderRE.FindStringSubmatch(stderr)
	if m == nil {
		return false
	}
	hn, _ := os.Hostname()
	pid, _ := strconv.Atoi(m[2])
	if m[1] != hn || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// TrustError is implemented by the transport's errors about a host key
// that is unknown or has changed: a run stops on them before it starts.
type TrustError interface {
	error
	TrustProblem() bool
}

func isTrustError(err error) bool {
	var te TrustError
	return errors.As(err, &te) && te.TrustProblem()
}
