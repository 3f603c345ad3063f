package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Local runs commands on this machine. The lab topology uses it to drive
// the local dockerd; tests use it as the simplest Host.
type Local struct {
	name string
}

// NewLocal returns the local machine as a Host called name.
func NewLocal(name string) *Local { return &Local{name: name} }

// Name implements Host.
func (l *Local) Name() string { return l.name }

// Close implements Host.
func (l *Local) Close() error { return nil }

// Run implements Host. Sudo is honoured only when not already root.
func (l *Local) Run(ctx context.Context, command string, opts RunOpts) (string, error) {
	full := EnvPrefix(opts.Env) + command
	var cmd *exec.Cmd
	if opts.Sudo && os.Geteuid() != 0 {
		cmd = exec.CommandContext(ctx, "sudo", "-n", "/bin/sh", "-c", full)
	} else {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", full)
	}
	var stdout bytes.Buffer
	outLines := NewLineWriter(opts.Output, 0)
	errLines := NewLineWriter(opts.Output, 20)
	cmd.Stdout = multi(&stdout, outLines)
	cmd.Stderr = errLines
	if opts.Stdin != nil {
		cmd.Stdin = bytes.NewReader(opts.Stdin)
	}
	err := cmd.Run()
	outLines.Flush()
	errLines.Flush()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ctx.Err() == nil {
			return stdout.String(), &ExitError{Host: l.name, Command: command, Code: ee.ExitCode(), Stderr: errLines.Tail()}
		}
		if ctx.Err() != nil {
			return stdout.String(), fmt.Errorf("%s: %q: %w", l.name, shorten(command, 80), ctx.Err())
		}
		return stdout.String(), fmt.Errorf("%s: run %q: %w", l.name, shorten(command, 80), err)
	}
	return stdout.String(), nil
}

// Upload implements Host.
func (l *Local) Upload(ctx context.Context, path string, data []byte, mode fs.FileMode, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("%s: create the folder of %s: %w", l.name, path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".collabstack-upload-*")
	if err != nil {
		return fmt.Errorf("%s: upload %s: %w", l.name, path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: upload %s: %w", l.name, path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: upload %s: %w", l.name, path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: upload %s: %w", l.name, path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: upload %s: %w", l.name, path, err)
	}
	if owner != "" {
		if _, err := l.Run(ctx, "chown "+Quote(owner)+" "+Quote(tmp.Name()), RunOpts{Sudo: true}); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("%s: upload %s: %w", l.name, path, err)
	}
	return nil
}

// ReadFile implements Host.
func (l *Local) ReadFile(ctx context.Context, path string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// EnvPrefix renders env as shell assignments to put before a command.
func EnvPrefix(env map[string]string) string {
	if len(env) == 0 {
		return ""
	}
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("export")
	for _, k := range keys {
		b.WriteString(" " + k + "=" + Quote(env[k]))
	}
	b.WriteString("; ")
	return b.String()
}

type multiWriter []interface{ Write([]byte) (int, error) }

func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		if _, err := w.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func multi(ws ...interface{ Write([]byte) (int, error) }) multiWriter { return ws }

var _ Host = (*Local)(nil)
