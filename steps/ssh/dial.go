package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/sshkey"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// Host is a machine reached over SSH. It implements host.Host and
// host.Rebooter and is safe for concurrent use.
type Host struct {
	spec  host.Spec
	user  string
	addr  string // address:port
	opts  Options
	known *KnownHosts

	mu       sync.Mutex
	cur      *conn
	fp       string
	connects int
	closed   bool
	closeCh  chan struct{}

	dialing chan struct{} // one redial at a time
	slots   chan struct{} // sessions in use
	trips   atomic.Int64  // commands, uploads and reads sent

	// Test hooks: how Reboot reboots and reads the boot id.
	rebootFn      func(ctx context.Context) error
	bootIDCommand string
}

// conn is one SSH connection and what hangs off it.
type conn struct {
	client *gossh.Client
	fp     string
	dead   chan struct{}
	once   sync.Once

	sftpMu sync.Mutex
	sftp   *sftp.Client
}

func (c *conn) markDead() { c.once.Do(func() { close(c.dead) }) }

func (c *conn) alive() bool {
	select {
	case <-c.dead:
		return false
	default:
		return true
	}
}

// close ends the connection; Wait's watcher and anyone waiting on dead see it.
// The SSH client closes first: on a stalled TCP connection (a host that
// lost its network) the SFTP close would otherwise wait forever.
func (c *conn) close() {
	c.client.Close()
	c.markDead()
	c.sftpMu.Lock()
	if c.sftp != nil {
		c.sftp.Close()
		c.sftp = nil
	}
	c.sftpMu.Unlock()
}

var (
	_ host.Host     = (*Host)(nil)
	_ host.Rebooter = (*Host)(nil)
)

// Dial connects to the host described by spec and logs in. The first
// connection pins the host key in opts.KnownHosts; later ones must match.
func Dial(ctx context.Context, spec host.Spec, opts Options) (*Host, error) {
	h := newHost(spec, opts)
	if spec.Local {
		return nil, fmt.Errorf("%s is this machine (local: true): use host.NewLocal, not SSH", spec.Name)
	}
	if spec.Address == "" {
		return nil, fmt.Errorf("%s has no address: set address: for it in the site file", spec.Name)
	}
	if spec.Jump != "" && opts.Jump == nil {
		return nil, fmt.Errorf("%s is reached through %s, but no connection to %s was given (Options.Jump): dial it first, or use Dialer", spec.Name, spec.Jump, spec.Jump)
	}
	c, err := h.dialWithBackoff(ctx, h.opts.Retry)
	if err != nil {
		return nil, h.redactErr(err)
	}
	if err := h.install(c); err != nil {
		return nil, h.redactErr(err)
	}
	return h, nil
}

func newHost(spec host.Spec, opts Options) *Host {
	opts = opts.withDefaults()
	if spec.Port == 0 {
		spec.Port = 22
	}
	user := spec.User
	if user == "" {
		user = "root"
	}
	known := opts.KnownHosts
	if known == nil {
		known, _ = Open("")
	}
	return &Host{
		spec:          spec,
		user:          user,
		addr:          net.JoinHostPort(spec.Address, strconv.Itoa(spec.Port)),
		opts:          opts,
		known:         known,
		closeCh:       make(chan struct{}),
		dialing:       make(chan struct{}, 1),
		slots:         make(chan struct{}, opts.MaxSessions),
		bootIDCommand: bootIDCommand,
	}
}

// Dialer returns an engine.Dialer that connects over SSH, checking host
// keys against known and cleaning output and errors with redact. A host
// nothing vouches for (no pinned key, no HostKey in its spec, no
// TrustFirstKey) is refused (*HostKeyUnknownError). A spec with Local set
// gets host.NewLocal; a spec with Jump is tunnelled through that host,
// fetched from the inventory.
func Dialer(known *KnownHosts, redact func(string) string) engine.Dialer {
	return TrustDialer(known, redact, false)
}

// TrustDialer is Dialer that, with acceptNew, pins the first key of a
// host nothing vouches for (see Options.AcceptNewHostKeys): only for
// --accept-new-host-keys.
func TrustDialer(known *KnownHosts, redact func(string) string, acceptNew bool) engine.Dialer {
	return func(ctx context.Context, spec host.Spec, inv *engine.Inventory) (host.Host, error) {
		if spec.Local {
			return host.NewLocal(spec.Name), nil
		}
		opts := Options{KnownHosts: known, Redact: redact, AcceptNewHostKeys: acceptNew}
		if spec.Jump != "" {
			jh, err := inv.Get(ctx, spec.Jump)
			if err != nil {
				return nil, fmt.Errorf("%s: reach jump host %s: %w", spec.Name, spec.Jump, err)
			}
			switch j := jh.(type) {
			case *Host:
				opts.Jump = j
			case *host.Local:
				// Jumping through this machine is connecting directly.
				spec.Jump = ""
			default:
				return nil, fmt.Errorf("%s: jump host %s is not an SSH host (%T): name an SSH host in jump:", spec.Name, spec.Jump, jh)
			}
		}
		h, err := Dial(ctx, spec, opts)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
}

// Name implements host.Host.
func (h *Host) Name() string { return h.spec.Name }

// Addr is the address:port connected to.
func (h *Host) Addr() string { return h.addr }

// User is the login user.
func (h *Host) User() string { return h.user }

// Fingerprint is the SHA256 fingerprint of the host key of the current
// connection ("SHA256:..."), as ssh-keygen -l prints it.
func (h *Host) Fingerprint() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fp
}

// Connections counts the SSH connections opened over the Host's life: 1
// after Dial, one more for each reconnect.
func (h *Host) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.connects
}

// Close implements host.Host. The jump host, if any, stays open.
func (h *Host) Close() error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.closeCh)
	c := h.cur
	h.cur = nil
	h.mu.Unlock()
	if c != nil {
		c.close()
	}
	return nil
}

func (h *Host) isRoot() bool { return h.user == "root" }

// connectOnce opens one connection and logs in.
func (h *Host) connectOnce(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, h.opts.ConnectTimeout)
	defer cancel()
	methods, cleanup, err := authMethods(h.spec)
	defer cleanup()
	if err != nil {
		return nil, permanent(err)
	}
	c := &conn{dead: make(chan struct{})}
	cfg := &gossh.ClientConfig{
		User:              h.user,
		Auth:              methods,
		HostKeyCallback:   h.known.callback(h.spec.Name, h.addr, trust{expected: h.spec.HostKey, issued: h.spec.HostKeyIssued, acceptNew: h.opts.AcceptNewHostKeys || h.spec.TrustFirstKey}, &c.fp),
		HostKeyAlgorithms: h.known.hostKeyAlgorithms(h.spec.Name, h.addr, h.spec.HostKey != ""),
		Timeout:           h.opts.ConnectTimeout,
	}

	var raw net.Conn
	if j := h.opts.Jump; j != nil {
		jc, err := j.conn(ctx)
		if err != nil {
			err = fmt.Errorf("connect to %s (%s) through %s: %w", h.spec.Name, h.addr, j.Name(), err)
			if errors.Is(err, errClosed) || isPermanent(err) {
				err = permanent(err)
			}
			return nil, err
		}
		raw, err = jc.client.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			if !jc.alive() || errors.Is(err, ctx.Err()) {
				return nil, fmt.Errorf("connect to %s (%s) through %s: %w", h.spec.Name, h.addr, j.Name(), err)
			}
			return nil, fmt.Errorf("connect to %s (%s) through %s: %v: check the address and that sshd runs on port %d, as seen from %s", h.spec.Name, h.addr, j.Name(), err, h.spec.Port, j.Name())
		}
	} else {
		var d net.Dialer
		raw, err = d.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			return nil, h.netError(ctx, err)
		}
	}

	type result struct {
		cc    gossh.Conn
		chans <-chan gossh.NewChannel
		reqs  <-chan *gossh.Request
		err   error
	}
	done := make(chan result, 1)
	go func() {
		cc, chans, reqs, err := gossh.NewClientConn(raw, h.addr, cfg)
		done <- result{cc, chans, reqs, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		raw.Close()
		<-done
		return nil, h.netError(ctx, ctx.Err())
	}
	if r.err != nil {
		raw.Close()
		return nil, h.handshakeError(r.err)
	}
	c.client = gossh.NewClient(r.cc, r.chans, r.reqs)
	go func() {
		c.client.Wait()
		c.markDead()
	}()
	return c, nil
}

// netError explains a failure to open the TCP connection.
func (h *Host) netError(ctx context.Context, err error) error {
	what := fmt.Sprintf("connect to %s (%s)", h.spec.Name, h.addr)
	var dnsErr *net.DNSError
	switch {
	case ctx.Err() == context.DeadlineExceeded || isTimeout(err):
		return fmt.Errorf("%s: no answer within %s: check the address, that the host is up, and firewalls between here and it", what, h.opts.ConnectTimeout)
	case ctx.Err() != nil:
		return permanent(fmt.Errorf("%s: %w", what, ctx.Err()))
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%s: connection refused: check the address and that sshd runs on port %d", what, h.spec.Port)
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%s: %v: check the address (the name does not resolve)", what, err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Errorf("%s: %v: check the address and the network route to it", what, err)
	default:
		return fmt.Errorf("%s: %v: check the address and the network", what, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handshakeError explains a failed SSH handshake or login.
func (h *Host) handshakeError(err error) error {
	var mm *HostKeyMismatchError
	if errors.As(err, &mm) {
		return permanent(mm)
	}
	var unknown *HostKeyUnknownError
	if errors.As(err, &unknown) {
		return permanent(unknown)
	}
	msg := err.Error()
	if strings.Contains(msg, "no common algorithm for host key") && len(h.known.Lookup(h.spec.Name, h.addr)) > 0 {
		pinned := h.known.Lookup(h.spec.Name, h.addr)[0]
		return permanent(&HostKeyMismatchError{Host: h.spec.Name, Address: h.addr, File: h.known.Path(), Want: gossh.FingerprintSHA256(pinned)})
	}
	if strings.Contains(msg, "unable to authenticate") {
		return permanent(fmt.Errorf("log in to %s (%s) as %s: %v: %s", h.spec.Name, h.addr, h.user, err, h.authFix()))
	}
	if strings.Contains(msg, "pin the host key") {
		return permanent(fmt.Errorf("connect to %s (%s): %w", h.spec.Name, h.addr, err))
	}
	return fmt.Errorf("connect to %s (%s): %v: check that an SSH server answers on port %d and accepts this machine", h.spec.Name, h.addr, err, h.spec.Port)
}

func (h *Host) authFix() string {
	switch {
	case h.spec.KeyFile != "":
		k := sshkey.ExpandHome(h.spec.KeyFile)
		return fmt.Sprintf("check that %s.pub is in ~%s/.ssh/authorized_keys on the host; with the host's password, `collabstack hosts add-key %s` installs the site's own key", k, h.user, h.spec.Name)
	case h.spec.Password != "":
		return fmt.Sprintf("check the password of %s and that the host allows password logins (PasswordAuthentication yes)", h.user)
	default:
		return fmt.Sprintf("check that a key loaded in the SSH agent (ssh-add -l) is in ~%s/.ssh/authorized_keys on the host", h.user)
	}
}

// permanentError marks an error retrying cannot fix (login refused, host
// key changed).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// DialerFor opens the pinned host keys at knownHosts and returns the
// engine's dialer over SSH, which refuses a host nothing vouches for: the
// shape install.Options.Dialer takes.
func DialerFor(knownHosts string, redact func(string) string) (engine.Dialer, error) {
	known, err := Open(knownHosts)
	if err != nil {
		return nil, err
	}
	return Dialer(known, redact), nil
}

// HostKeyTrust says how a headless run treats host keys.
type HostKeyTrust struct {
	// AcceptNew pins the key of a host seen for the first time when the
	// site gives no fingerprint for it (--accept-new-host-keys).
	AcceptNew bool
	// ReadOnly checks keys against the pinned ones and the site's
	// fingerprints without pinning or writing anything (plan).
	ReadOnly bool
}

// DialerWith returns the shape install.Options.Dialer takes, with the
// trust of a headless run: a host's first key must match its host_key
// unless new keys are accepted.
func DialerWith(tr HostKeyTrust) func(knownHosts string, redact func(string) string) (engine.Dialer, error) {
	return func(knownHosts string, redact func(string) string) (engine.Dialer, error) {
		known, err := Open(knownHosts)
		if err != nil {
			return nil, err
		}
		if tr.ReadOnly {
			known.ReadOnly()
		}
		return TrustDialer(known, redact, tr.AcceptNew), nil
	}
}
