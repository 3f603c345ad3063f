package cli

import (
	"context"
	"errors"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/identity"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/proxmox"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

// Exit codes, documented in docs/cli.md.
const (
	ExitOK          = 0   // done
	ExitFailed      = 1   // steps failed; the journal says which, re-run to resume
	ExitUsage       = 2   // bad command line or site file; nothing was changed
	ExitLocked      = 3   // another apply holds the site's lock
	ExitTrust       = 4   // a host key is unknown or changed, or the PVE certificate changed
	ExitDirectory   = 5   // users: the user already exists, or no such user or group
	ExitInterrupted = 130 // Ctrl-C; re-run to resume
)

// usageError marks a command-line mistake.
type usageError struct{ error }

// exitCode maps an error to the documented exit code.
func exitCode(err error) int {
	var es site.Errors
	var fe site.FieldError
	var ue usageError
	var ife *identity.FieldError
	var se *install.SiteError
	var re *engine.RunError
	var mismatch *ssh.HostKeyMismatchError
	var unknown *ssh.HostKeyUnknownError
	var cert *proxmox.CertMismatchError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &mismatch), errors.As(err, &unknown), errors.As(err, &cert):
		return ExitTrust
	case errors.Is(err, install.ErrLocked):
		return ExitLocked
	case errors.As(err, &es), errors.As(err, &fe), errors.As(err, &ue), errors.As(err, &se), errors.As(err, &ife):
		return ExitUsage
	case errors.Is(err, identity.ErrExists), errors.Is(err, identity.ErrNotFound):
		return ExitDirectory
	case errors.As(err, &re) && re.Cancelled, errors.Is(err, context.Canceled):
		return ExitInterrupted
	default:
		return ExitFailed
	}
}
