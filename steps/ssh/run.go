package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/host"
	gossh "golang.org/x/crypto/ssh"
)

// stderrKeep is how many stderr lines an ExitError carries.
const stderrKeep = 20

// Run implements host.Host. The command runs under /bin/sh on the host;
// stdout and stderr are streamed line by line, redacted, to opts.Output;
// stdout is returned. A non-zero exit is a *host.ExitError carrying the
// last lines of stderr. With opts.Sudo and a login user other than root,
// the command runs through sudo; the sudo password, if any, is written on
// stdin ahead of opts.Stdin and never appears on a command line.
func (h *Host) Run(ctx context.Context, command string, opts host.RunOpts) (string, error) {
	h.trips.Add(1)
	out, err := h.run(ctx, command, opts)
	return out, h.redactErr(err)
}

// RoundTrips is how many commands, uploads and file reads were sent to
// the host so far: what a no-op re-run is measured by.
func (h *Host) RoundTrips() int64 { return h.trips.Load() }

func (h *Host) run(ctx context.Context, command string, opts host.RunOpts) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s: %q not started: %w", h.spec.Name, short(h.redact(command)), err)
	}
	wire, stdin := h.wrap(command, opts)
	c, sess, release, err := h.session(ctx)
	if err != nil {
		return "", err
	}

	var stdout bytes.Buffer
	emit := h.output(opts.Output)
	outLines := host.NewLineWriter(emit, 0)
	errLines := host.NewLineWriter(emit, stderrKeep)
	sess.Stdout = io.MultiWriter(&stdout, outLines)
	sess.Stderr = errLines
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	if err := sess.Start(wire); err != nil {
		sess.Close()
		release()
		return "", fmt.Errorf("%s: start %q: %v: the connection may have dropped; run again", h.spec.Name, short(h.redact(command)), err)
	}
	done := make(chan error, 1)
	go func() {
		done <- sess.Wait()
		release()
	}()

	select {
	case err = <-done:
		sess.Close()
	case <-ctx.Done():
		// Ask the command to stop, then drop the session without waiting
		// for it to comply.
		_ = sess.Signal(gossh.SIGTERM)
		sess.Close()
		out := ""
		t := time.NewTimer(2 * time.Second)
		select {
		case <-done:
			out = stdout.String()
		case <-t.C:
		}
		t.Stop()
		outLines.Flush()
		errLines.Flush()
		return out, fmt.Errorf("%s: %q stopped: %w", h.spec.Name, short(h.redact(command)), ctx.Err())
	}
	outLines.Flush()
	errLines.Flush()
	if err == nil {
		return stdout.String(), nil
	}

	var ee *gossh.ExitError
	if errors.As(err, &ee) {
		tail := errLines.Tail()
		if sig := ee.Signal(); sig != "" {
			tail = strings.TrimSpace(tail + "\n(killed by signal " + sig + ")")
		}
		if opts.Sudo && !h.isRoot() && strings.Contains(tail, "a password is required") {
			tail += "\n(sudo asks " + h.user + " for a password: set the host's sudo password in the site file, or allow it sudo without one)"
		}
		return stdout.String(), &host.ExitError{Host: h.spec.Name, Command: h.redact(command), Code: ee.ExitStatus(), Stderr: h.redact(tail)}
	}
	if !c.alive() || errors.Is(err, io.EOF) || errors.As(err, new(*gossh.ExitMissingError)) {
		c.close()
		return stdout.String(), fmt.Errorf("%s: the connection dropped while running %q: the command may not have finished; run again", h.spec.Name, short(h.redact(command)))
	}
	return stdout.String(), fmt.Errorf("%s: run %q: %v", h.spec.Name, short(h.redact(command)), err)
}

// sudoWithPassword runs a command through sudo feeding the password, the
// first line of stdin, only when sudo asks for one: if sudo needs no
// password (NOPASSWD, or root) the line is dropped, so it never reaches
// the command. The password is checked on its own first, so a wrong one
// cannot make sudo read the command's stdin as further attempts. It lives
// in a shell variable only (printf is a builtin), never in argv.
const sudoWithPassword = `IFS= read -r p || exit 125
if sudo -n true 2>/dev/null; then unset p; exec sudo -n -- /bin/sh -c "$0"; fi
printf '%s\n' "$p" | sudo -S -k -p '' true 2>/dev/null || { echo "sudo: the sudo password was refused, or this user may not use sudo: check the host's sudo password in the site file" >&2; exit 1; }
{ printf '%s\n' "$p"; unset p; exec cat; } | sudo -S -k -p '' -- /bin/sh -c "$0"`

// wrap returns the command line to send and the bytes to feed on stdin.
func (h *Host) wrap(command string, opts host.RunOpts) (string, []byte) {
	script := host.EnvPrefix(opts.Env) + command
	switch {
	case !opts.Sudo || h.isRoot():
		return "/bin/sh -c " + host.Quote(script), opts.Stdin
	case h.spec.SudoPassword == "":
		return "sudo -n -- /bin/sh -c " + host.Quote(script), opts.Stdin
	default:
		stdin := make([]byte, 0, len(h.spec.SudoPassword)+1+len(opts.Stdin))
		stdin = append(stdin, h.spec.SudoPassword...)
		stdin = append(stdin, '\n')
		stdin = append(stdin, opts.Stdin...)
		return "/bin/sh -c " + host.Quote(sudoWithPassword) + " " + host.Quote(script), stdin
	}
}

func short(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
