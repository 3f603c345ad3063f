package ssh

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/sshkey"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// authMethods builds the login methods of spec. The returned cleanup closes
// the agent connection once the handshake is over.
func authMethods(spec host.Spec) ([]gossh.AuthMethod, func(), error) {
	var methods []gossh.AuthMethod
	cleanup := func() {}
	if spec.KeyFile != "" {
		signer, err := loadKey(spec.KeyFile)
		if err != nil {
			return nil, cleanup, err
		}
		methods = append(methods, gossh.PublicKeys(signer))
	}
	sock := os.Getenv("SSH_AUTH_SOCK")
	if spec.Agent || (len(methods) == 0 && spec.Password == "" && sock != "") {
		if sock == "" {
			return nil, cleanup, fmt.Errorf("%s uses the SSH agent but SSH_AUTH_SOCK is not set: start ssh-agent and ssh-add your key, or set auth.key_file for this host", spec.Name)
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, cleanup, fmt.Errorf("%s: connect to the SSH agent at %s: %w: check that ssh-agent runs, or set auth.key_file for this host", spec.Name, sock, err)
		}
		cleanup = func() { conn.Close() }
		methods = append(methods, gossh.PublicKeysCallback(agent.NewClient(conn).Signers))
	}
	if spec.Password != "" {
		pw := spec.Password
		methods = append(methods,
			gossh.Password(pw),
			gossh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
	}
	if len(methods) == 0 {
		return nil, cleanup, fmt.Errorf("%s has no way to log in: set auth.key_file, auth: agent or a password for it in the site file", spec.Name)
	}
	return methods, cleanup, nil
}

// loadKey reads and parses a private key file.
func loadKey(path string) (gossh.Signer, error) {
	path = sshkey.ExpandHome(path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("key file %s does not exist: with the host's password, `collabstack hosts add-key HOST` makes a key for the site and installs it; or set auth.key_file to your key", path)
	}
	if err != nil {
		return nil, fmt.Errorf("read key file %s: %w", path, err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	var pe *gossh.PassphraseMissingError
	if errors.As(err, &pe) {
		return nil, fmt.Errorf("key file %s is protected by a passphrase: load it into the SSH agent with `ssh-add %s` and use auth: agent for this host", path, path)
	}
	if err != nil {
		hint := "check that it is a private key (not the .pub file)"
		if strings.HasSuffix(path, ".pub") {
			hint = "this is the public half: name the private key file, without .pub"
		}
		return nil, fmt.Errorf("key file %s is not a private key SSH can use (%v): %s", path, err, hint)
	}
	return signer, nil
}
