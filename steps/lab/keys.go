package lab

import "github.com/collabstack/collabstack/steps/sshkey"

// ensureKey returns the OpenSSH public key line (with a newline) of the
// ed25519 key at path, generating the pair (path 0600, path.pub 0644) on
// first use through the one key helper, steps/sshkey.Ensure.
func ensureKey(path, comment string) (string, error) {
	line, err := sshkey.Ensure(path, comment)
	if err != nil {
		return "", err
	}
	return line + "\n", nil
}
