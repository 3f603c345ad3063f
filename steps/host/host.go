// Package host is the one way steps talk to a machine. Steps see the Host
// interface only; the SSH transport (package steps/ssh) and the local
// executor (this package) implement it. No step imports x/crypto/ssh.
package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Host is a machine that steps run commands on and copy files to.
type Host interface {
	// Name is the site-file name of the host ("manager", "pve1", ...).
	Name() string
	// Run runs a shell command (interpreted by /bin/sh on the host).
	// Output is streamed line by line to opts.Output when set and is also
	// returned (stdout only; stderr goes to Output and to the error).
	Run(ctx context.Context, command string, opts RunOpts) (string, error)
	// Upload writes data to path atomically (temporary file, then rename)
	// with the given mode and owner ("" keeps the connecting user).
	Upload(ctx context.Context, path string, data []byte, mode fs.FileMode, owner string) error
	// ReadFile returns a file's content; a missing file is an error that
	// satisfies errors.Is(err, fs.ErrNotExist).
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// Close releases the connection.
	Close() error
}

// RunOpts tunes one command.
type RunOpts struct {
	// Sudo runs the command as root through sudo (a no-op when the
	// connection already is root). The sudo password, when the site file
	// gives one, goes on stdin, never on the command line.
	Sudo bool
	// Stdin is fed to the command.
	Stdin []byte
	// Output receives each line of stdout and stderr as it comes.
	Output func(line string)
	// Env sets environment variables for the command (passed inline as
	// VAR='value' assignments, quoted).
	Env map[string]string
}

// ErrHostKeyChanged is what a transport's error is (errors.Is) when a host
// offers a key other than the one pinned for it, or than the one the site
// file gives: retrying cannot help, and the run must stop. The SSH
// transport's *HostKeyMismatchError says which keys and what to do.
var ErrHostKeyChanged = errors.New("host key changed")

// ExitError is returned when a command ran and exited non-zero.
type ExitError struct {
	Host    string
	Command string
	Code    int
	Stderr  string // last lines of stderr, already redacted
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s: command %q exited with status %d", e.Host, shorten(e.Command, 120), e.Code)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

func shorten(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Quote quotes s for a POSIX shell.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// Spec says how to reach a host. The site file's hosts become Specs; steps
// that create machines (a VM, a lab container) register new Specs while a
// plan runs, so later steps can target them by name.
type Spec struct {
	Name    string
	Address string
	Port    int
	User    string
	// KeyFile is a private key file; Agent uses $SSH_AUTH_SOCK; Password
	// is the login password (resolved from secrets, never from the site file).
	KeyFile  string
	Agent    bool
	Password string
	// SudoPassword is fed to sudo on stdin when sudo asks for one.
	SudoPassword string
	// Jump names another host to tunnel through (a VM behind its PVE host).
	Jump string
	// HostKey is the SHA256 fingerprint the host's SSH key must have on
	// the first connection (the site file's host_key, or the key
	// collabstack gave a machine it made); "" when it is not known.
	HostKey string
	// HostKeyIssued says HostKey is the key collabstack made and gave the
	// machine when it made it (a VM's host key, through cloud-init or the
	// first-boot script): the host must offer exactly that key, and it
	// replaces a key pinned for the name before (the machine was made
	// anew). Never set it for a machine collabstack did not make.
	HostKeyIssued bool
	// TrustFirstKey lets the first connection pin whatever key the host
	// offers when nothing else vouches for it: only where the user asked
	// for trust on first use.
	TrustFirstKey bool
	// Local means this machine itself: no SSH.
	Local bool
}

// Rebooter is implemented by hosts that can reboot and wait to come back.
type Rebooter interface {
	// Reboot reboots the host and returns once it accepts commands again.
	Reboot(ctx context.Context) error
}
