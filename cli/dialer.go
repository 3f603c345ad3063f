package cli

import (
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/ssh"
)

// sshDialer connects to hosts over SSH, pinning host keys in knownHosts.
func sshDialer(knownHosts string, redact func(string) string) (engine.Dialer, error) {
	known, err := ssh.Open(knownHosts)
	if err != nil {
		return nil, err
	}
	return ssh.Dialer(known, redact), nil
}
