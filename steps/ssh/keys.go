package ssh

import (
	"path/filepath"

	"github.com/collabstack/collabstack/steps/sshkey"
)

// SiteKeyPath is the key collabstack makes for a site whose user has only
// a password (hosts add-key, the wizard's "I only have a password"): an
// ed25519 key in the site's state directory.
func SiteKeyPath(stateDir string) string { return filepath.Join(stateDir, "ssh", "id_ed25519") }

// KeyComment ends the authorized_keys lines of the keys collabstack makes
// (sshkey.Comment).
const KeyComment = sshkey.Comment

// PublicKeyOf is sshkey.PublicOf.
//
// Deprecated: use sshkey.PublicOf; kept until steps/network, its last
// caller, moves to it.
func PublicKeyOf(keyFile, comment string) (string, error) { return sshkey.PublicOf(keyFile, comment) }
