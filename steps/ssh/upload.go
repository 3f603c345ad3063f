package ssh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"
)

// errNoSFTP marks a host whose sshd offers no SFTP subsystem; files then go
// through the shell.
var errNoSFTP = errors.New("the host offers no SFTP subsystem")

// Upload implements host.Host. The data goes to a temporary file in the
// target's directory (created when missing), gets its mode (and owner,
// when given) and is then renamed over path, so readers see the old or the
// new content, never a mix. When the login user may not write there, or
// owner is set and the user is not root, it goes through sudo.
func (h *Host) Upload(ctx context.Context, p string, data []byte, mode fs.FileMode, owner string) error {
	h.trips.Add(1)
	return h.redactErr(h.upload(ctx, p, data, mode, owner))
}

func (h *Host) upload(ctx context.Context, p string, data []byte, mode fs.FileMode, owner string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: upload %s: %w", h.spec.Name, p, err)
	}
	if !path.IsAbs(p) {
		return fmt.Errorf("%s: upload %s: the path must be absolute", h.spec.Name, p)
	}
	root := h.isRoot()
	if owner != "" && !root {
		return h.shellUpload(ctx, p, data, mode, owner, true)
	}
	err := h.sftpUpload(ctx, p, data, mode, owner)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoSFTP):
		err = h.shellUpload(ctx, p, data, mode, owner, false)
		if err != nil && !root && strings.Contains(err.Error(), "Permission denied") {
			return h.shellUpload(ctx, p, data, mode, owner, true)
		}
		return err
	case errors.Is(err, fs.ErrPermission) && !root:
		return h.shellUpload(ctx, p, data, mode, owner, true)
	}
	return err
}

func (h *Host) sftpUpload(ctx context.Context, p string, data []byte, mode fs.FileMode, owner string) error {
	sc, stop, err := h.sftpClient(ctx)
	if err != nil {
		return err
	}
	defer stop()
	fail := func(what string, err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%s: upload %s: %w", h.spec.Name, p, ctx.Err())
		}
		return fmt.Errorf("%s: upload %s: %s: %w", h.spec.Name, p, what, err)
	}
	dir := path.Dir(p)
	if err := sc.MkdirAll(dir); err != nil {
		return fail("create the folder "+dir, err)
	}
	tmp := tempName(p)
	f, err := sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fail("create "+tmp, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			sc.Remove(tmp)
		}
	}()
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fail("set the mode", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fail("write", err)
	}
	_ = f.Sync() // fsync@openssh.com; older servers lack it
	if err := f.Close(); err != nil {
		return fail("write", err)
	}
	if owner != "" {
		if _, err := h.run(ctx, "chown "+host.Quote(owner)+" "+host.Quote(tmp), host.RunOpts{}); err != nil {
			return fmt.Errorf("%s: upload %s: set the owner to %s: %w", h.spec.Name, p, owner, err)
		}
	}
	if err := sc.PosixRename(tmp, p); err != nil {
		if _, err2 := h.run(ctx, "mv -f -- "+host.Quote(tmp)+" "+host.Quote(p), host.RunOpts{}); err2 != nil {
			return fail("rename into place", err)
		}
	}
	renamed = true
	return nil
}

// shellUpload streams data on stdin to a shell that writes, chmods, chowns
// and renames the temporary file, as root when sudo is set.
func (h *Host) shellUpload(ctx context.Context, p string, data []byte, mode fs.FileMode, owner string, sudo bool) error {
	chown := ""
	if owner != "" {
		chown = "chown " + host.Quote(owner) + ` "$t"`
	}
	script := fmt.Sprintf(`set -e
umask 022
mkdir -p -- %s
t=%s
trap 'rm -f -- "$t"' EXIT
umask 077
cat > "$t"
chmod %04o "$t"
%s
mv -f -- "$t" %s
trap - EXIT`, host.Quote(path.Dir(p)), host.Quote(tempName(p)), unixMode(mode), chown, host.Quote(p))
	if data == nil {
		data = []byte{}
	}
	if _, err := h.run(ctx, script, host.RunOpts{Sudo: sudo, Stdin: data}); err != nil {
		var ee *host.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s: upload %s: %s", h.spec.Name, p, strings.TrimSpace(ee.Stderr))
		}
		return fmt.Errorf("upload %s: %w", p, err)
	}
	return nil
}

// ReadFile implements host.Host. A missing file gives an error satisfying
// errors.Is(err, fs.ErrNotExist). A file the login user may not read is
// read through sudo.
func (h *Host) ReadFile(ctx context.Context, p string) ([]byte, error) {
	h.trips.Add(1)
	data, err := h.readFile(ctx, p)
	return data, h.redactErr(err)
}

func (h *Host) readFile(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", h.spec.Name, p, err)
	}
	sc, stop, err := h.sftpClient(ctx)
	switch {
	case err == nil:
		data, rerr := sftpRead(sc, p)
		stop()
		switch {
		case rerr == nil:
			return data, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: read %s: %w", h.spec.Name, p, ctx.Err())
		case errors.Is(rerr, fs.ErrNotExist):
			return nil, fmt.Errorf("%s: read %s: %w", h.spec.Name, p, fs.ErrNotExist)
		case errors.Is(rerr, fs.ErrPermission) && !h.isRoot():
			return h.shellRead(ctx, p, true)
		}
		return nil, fmt.Errorf("%s: read %s: %w", h.spec.Name, p, rerr)
	case errors.Is(err, errNoSFTP):
		data, err := h.shellRead(ctx, p, false)
		if errors.Is(err, fs.ErrPermission) && !h.isRoot() {
			return h.shellRead(ctx, p, true)
		}
		return data, err
	}
	return nil, err
}

func sftpRead(sc *sftp.Client, p string) ([]byte, error) {
	f, err := sc.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// shellRead reads a file with cat, mapping its messages to fs errors.
func (h *Host) shellRead(ctx context.Context, p string, sudo bool) ([]byte, error) {
	out, err := h.run(ctx, "LC_ALL=C exec cat -- "+host.Quote(p), host.RunOpts{Sudo: sudo})
	if err == nil {
		return []byte(out), nil
	}
	var ee *host.ExitError
	if errors.As(err, &ee) {
		switch {
		case strings.Contains(ee.Stderr, "No such file or directory"):
			return nil, fmt.Errorf("%s: read %s: %w", h.spec.Name, p, fs.ErrNotExist)
		case strings.Contains(ee.Stderr, "Permission denied"):
			return nil, fmt.Errorf("%s: read %s: %w", h.spec.Name, p, fs.ErrPermission)
		}
		return nil, fmt.Errorf("%s: read %s: %s", h.spec.Name, p, strings.TrimSpace(ee.Stderr))
	}
	return nil, fmt.Errorf("read %s: %w", p, err)
}

// sftpClient returns the connection's SFTP client, starting it on first
// use. stop must be called when done; until then a cancelled ctx closes
// the client, aborting whatever it is doing.
func (h *Host) sftpClient(ctx context.Context) (*sftp.Client, func(), error) {
	for attempt := 1; ; attempt++ {
		c, err := h.conn(ctx)
		if err != nil {
			return nil, nil, err
		}
		c.sftpMu.Lock()
		sc := c.sftp
		if sc == nil {
			sc, err = sftp.NewClient(c.client)
			if err == nil {
				c.sftp = sc
			}
		}
		c.sftpMu.Unlock()
		if err != nil {
			if strings.Contains(err.Error(), "subsystem request failed") {
				return nil, nil, fmt.Errorf("%s: %w", h.spec.Name, errNoSFTP)
			}
			if attempt < 2 && !isOpenChannelError(err) {
				c.close() // a broken transport: redial once
				continue
			}
			return nil, nil, fmt.Errorf("%s: start SFTP: %v: check that the connection is stable", h.spec.Name, err)
		}
		done := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				c.sftpMu.Lock()
				if c.sftp == sc {
					c.sftp = nil
				}
				c.sftpMu.Unlock()
				sc.Close()
			case <-done:
			}
		}()
		return sc, func() { close(done) }, nil
	}
}

func isOpenChannelError(err error) bool {
	var oce *gossh.OpenChannelError
	return errors.As(err, &oce)
}

// tempName is a hidden, unique name beside p.
func tempName(p string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return path.Join(path.Dir(p), "."+path.Base(p)+".collabstack-"+hex.EncodeToString(b[:]))
}

// unixMode converts an fs.FileMode to the octal bits chmod takes.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}
