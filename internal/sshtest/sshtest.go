// Package sshtest starts a real OpenSSH sshd for tests: on a free loopback
// port, with throwaway host and client keys in a temporary directory,
// running as the current user. Tests are skipped when sshd or ssh-keygen
// is not installed (apt-get install -y openssh-server).
package sshtest

import (
	"bufio"
	"errors"
	"fmt"
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

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/host"
)

// SSHD is where Debian's openssh-server installs the daemon.
const SSHD = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	// Host is 127.0.0.1; Port the port sshd listens on; Addr both.
	Host string
	Port int
	Addr string
	// User is the current user, who may log in with KeyFile.
	User string
	// KeyFile is the client's private key (ed25519, no passphrase);
	// its public half is authorised for every user of the server.
	KeyFile string
	// Dir holds the keys, config and log.
	Dir string

	keysDir string // authorized_keys/<user>

	mu   sync.Mutex
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

// Option tunes Start.
type Option func(*config)

type config struct {
	extra    []string
	homeKeys bool
}

// WithConfig adds sshd_config lines ("MaxSessions 20").
func WithConfig(lines ...string) Option {
	return func(c *config) { c.extra = append(c.extra, lines...) }
}

// WithHomeAuthorizedKeys makes sshd also read ~/.ssh/authorized_keys of
// the user logging in, as a stock sshd does: for tests that install a key
// on the host.
func WithHomeAuthorizedKeys() Option {
	return func(c *config) { c.homeKeys = true }
}

// Start starts sshd and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		t.Skipf("sshtest: %s is not installed (apt-get install -y openssh-server): %v", SSHD, err)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skipf("sshtest: ssh-keygen is not installed (apt-get install -y openssh-client): %v", err)
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshtest: current user: %v", err)
	}
	dir := t.TempDir()
	s := &Server{Host: "127.0.0.1", User: u.Username, Dir: dir, KeyFile: filepath.Join(dir, "client_key")}
	if os.Geteuid() == 0 {
		// sshd running as root wants its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
	}
	if err := keygen(filepath.Join(dir, "host_ed25519_key")); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := keygen(s.KeyFile); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	// sshd reads authorized keys as the user logging in, and t.TempDir is
	// private to the current user: keep them in a directory all can read.
	s.keysDir, err = os.MkdirTemp("", "sshtest-authorized-keys-")
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(s.keysDir) })
	if err := os.Chmod(s.keysDir, 0o755); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if err := s.authorize(s.User); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s.log, err = os.OpenFile(filepath.Join(dir, "sshd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() {
		s.Stop()
		s.log.Close()
		if t.Failed() {
			t.Logf("sshtest: sshd log:\n%s", s.Log())
		}
	})

	var lastErr error
	for range 5 {
		s.Port, err = freePort()
		if err != nil {
			t.Fatalf("sshtest: %v", err)
		}
		s.Addr = net.JoinHostPort(s.Host, strconv.Itoa(s.Port))
		if err := s.writeConfig(cfg); err != nil {
			t.Fatalf("sshtest: %v", err)
		}
		if lastErr = s.start(); lastErr == nil {
			return s
		}
	}
	t.Fatalf("sshtest: start sshd: %v\n%s", lastErr, s.Log())
	return nil
}

func keygen(path string) error {
	os.Remove(path)
	os.Remove(path + ".pub")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sshtest", "-f", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ssh-keygen -f %s: %v: %s", path, err, out)
	}
	return nil
}

// authorize lets name log in with the client key.
func (s *Server) authorize(name string) error {
	pub, err := os.ReadFile(s.KeyFile + ".pub")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.keysDir, name), pub, 0o644)
}

func (s *Server) writeConfig(cfg config) error {
	keys := filepath.Join(s.keysDir, "%u")
	if cfg.homeKeys {
		keys += " .ssh/authorized_keys"
	}
	lines := []string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress " + s.Host,
		"HostKey " + filepath.Join(s.Dir, "host_ed25519_key"),
		"PidFile " + filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + keys,
		"StrictModes no",
		"PermitRootLogin yes",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication yes",
		"KbdInteractiveAuthentication no",
		"AllowTcpForwarding yes",
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
		"MaxStartups 100",
		"UseDNS no",
	}
	lines = append(lines, cfg.extra...)
	return os.WriteFile(filepath.Join(s.Dir, "sshd_config"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs sshd in the foreground and waits until it answers.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("sshd already runs")
	}
	fmt.Fprintf(s.log, "=== sshtest: starting sshd on %s\n", s.Addr)
	cmd := exec.Command(SSHD, "-D", "-e", "-f", filepath.Join(s.Dir, "sshd_config"))
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", SSHD, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("sshd exited: %v", cmd.ProcessState)
		default:
		}
		if banner(s.Addr) {
			s.cmd, s.done = cmd, done
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			return errors.New("sshd did not answer within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// banner reports whether an SSH server greets on addr.
func banner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// Stop kills sshd and every connection it serves, as a crash or a
// reboot would. It is a no-op when sshd is not running.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	killTree(s.cmd.Process.Pid)
	<-s.done
	s.cmd, s.done = nil, nil
	fmt.Fprintf(s.log, "=== sshtest: sshd stopped\n")
}

// FreezeConnections stops (SIGSTOP) the processes serving the open
// connections, as a host that hangs or a network that drops packets
// would; new connections are still served. Call thaw to let them go on.
func (s *Server) FreezeConnections() (thaw func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return func() {}
	}
	frozen := stopSSHDDescendants(s.cmd.Process.Pid)
	return func() {
		for _, p := range frozen {
			syscall.Kill(p, syscall.SIGCONT)
		}
	}
}

// Resume starts a stopped sshd again, on the same port with the same keys.
func (s *Server) Resume() error {
	var err error
	for range 50 { // the port may linger for a moment
		if err = s.start(); err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// Restart stops sshd, dropping every connection, and starts it again on
// the same port with the same host keys (unless RegenerateHostKey ran).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	if err := s.Resume(); err != nil {
		t.Fatalf("sshtest: restart sshd: %v\n%s", err, s.Log())
	}
}

// RegenerateHostKey replaces the host key, as reinstalling the machine
// would. It takes effect when sshd next starts (Restart).
func (s *Server) RegenerateHostKey(t testing.TB) {
	t.Helper()
	if err := keygen(filepath.Join(s.Dir, "host_ed25519_key")); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}

// HostKeyFile is the public half of the current host key.
func (s *Server) HostKeyFile() string { return filepath.Join(s.Dir, "host_ed25519_key.pub") }

// Fingerprint is the SHA256 fingerprint of the host key, as ssh-keygen -l
// prints it.
func (s *Server) Fingerprint(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", s.HostKeyFile()).Output()
	if err != nil {
		t.Fatalf("sshtest: ssh-keygen -l: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 {
		t.Fatalf("sshtest: ssh-keygen -l printed %q", out)
	}
	return f[1]
}

// Log returns what sshd logged so far.
func (s *Server) Log() string {
	data, _ := os.ReadFile(filepath.Join(s.Dir, "sshd.log"))
	return string(data)
}

// Spec is a host.Spec that logs in as the current user with KeyFile and
// gives the server's host key fingerprint (HostKey), as a site file's
// host_key would: the test made the key, so the first connection is
// verified, not trusted on first use. A test of an unknown key clears
// HostKey.
func (s *Server) Spec(name string) host.Spec {
	spec := host.Spec{Name: name, Address: s.Host, Port: s.Port, User: s.User, KeyFile: s.KeyFile}
	if data, err := os.ReadFile(s.HostKeyFile()); err == nil {
		if k, _, _, _, err := gossh.ParseAuthorizedKey(data); err == nil {
			spec.HostKey = gossh.FingerprintSHA256(k)
		}
	}
	return spec
}

// killTree kills sshd (pid) and every sshd process below it: the
// per-connection processes hold the sockets, so killing them drops every
// connection, as a crash or a reboot would. The users' own processes are
// left to end on their own (killing a shell in the middle of its rc files
// could leave their locks behind). The sshd processes are stopped first so
// none forks a child the scan would miss.
func killTree(pid int) {
	syscall.Kill(pid, syscall.SIGSTOP)
	kill := append([]int{pid}, stopSSHDDescendants(pid)...)
	for _, p := range kill {
		syscall.Kill(p, syscall.SIGKILL)
	}
}

func isSSHD(pid int) bool {
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return err == nil && strings.HasPrefix(strings.TrimSpace(string(comm)), "sshd")
}

// processParents maps every process to its parent, from /proc.
func processParents() map[int]int {
	out := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil {
			out[pid] = ppid
		}
	}
	return out
}

// stopSSHDDescendants stops (SIGSTOP) every sshd process below root and
// returns their pids; a stopped process forks no child the scan would miss.
func stopSSHDDescendants(root int) []int {
	var stopped []int
	seen := map[int]bool{root: true}
	for {
		added := false
		for p, parent := range processParents() {
			if seen[parent] && !seen[p] {
				seen[p] = true
				added = true
				if isSSHD(p) {
					syscall.Kill(p, syscall.SIGSTOP)
					stopped = append(stopped, p)
				}
			}
		}
		if !added {
			return stopped
		}
	}
}
