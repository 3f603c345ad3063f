package site

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/host"
)

// SecretLookup finds a secret by name (the secrets file).
type SecretLookup func(name string) (string, bool)

// ResolveRef returns the value a password_ref points at: env:VAR reads the
// environment, anything else names a secret in the secrets file.
func ResolveRef(ref string, lookup SecretLookup) (string, error) {
	if v, ok := strings.CutPrefix(ref, "env:"); ok {
		val, set := os.LookupEnv(v)
		if !set {
			return "", fmt.Errorf("environment variable %s is not set: export it before running collabstack", v)
		}
		return val, nil
	}
	if lookup != nil {
		if val, ok := lookup(ref); ok {
			return val, nil
		}
	}
	return "", fmt.Errorf("secret %q is not in the secrets file: set it with `collabstack secret set %s`", ref, ref)
}

// Spec turns a site host into a connection spec, resolving its password
// references. The key file's path is expanded.
func (h Host) Spec(lookup SecretLookup) (host.Spec, error) {
	spec := host.Spec{Name: h.Name, Address: h.Address, Port: h.Port, User: h.User, Jump: h.Jump, HostKey: h.HostKey}
	switch h.Auth.Method {
	case AuthKey:
		spec.KeyFile = ExpandHome(h.Auth.KeyFile)
	case AuthAgent:
		spec.Agent = true
	case AuthPassword:
		pw, err := ResolveRef(h.Auth.PasswordRef, lookup)
		if err != nil {
			return spec, fmt.Errorf("host %s: login password: %w", h.Name, err)
		}
		spec.Password = pw
	}
	if h.SudoPasswordRef != "" {
		pw, err := ResolveRef(h.SudoPasswordRef, lookup)
		if err != nil {
			return spec, fmt.Errorf("host %s: sudo password: %w", h.Name, err)
		}
		spec.SudoPassword = pw
	} else if h.Auth.Method == AuthPassword {
		spec.SudoPassword = spec.Password
	}
	return spec, nil
}

// ExpandHome expands a leading ~/ to the user's home directory.
func ExpandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// CheckKeyFile checks that a private key file exists and parses; the
// wizard calls it as the path is typed, apply before connecting.
func CheckKeyFile(path string) *FieldError {
	p := ExpandHome(path)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return &FieldError{Problem: fmt.Sprintf("%s does not exist", path), Fix: "give the right path; with only the host's password, choose \"I only have a password\" in the wizard or run `collabstack hosts add-key HOST`: collabstack makes a key and installs it"}
	}
	if err != nil {
		return &FieldError{Problem: fmt.Sprintf("cannot read %s: %v", path, err), Fix: "check the file's permissions"}
	}
	if _, err := ssh.ParseRawPrivateKey(data); err != nil {
		var pp *ssh.PassphraseMissingError
		if errors.As(err, &pp) {
			return &FieldError{Problem: fmt.Sprintf("%s is protected by a passphrase", path), Fix: "load it into ssh-agent (`ssh-add`) and use auth.method: agent"}
		}
		return &FieldError{Problem: fmt.Sprintf("%s is not a private key: %v", path, err), Fix: "give the private key, not the .pub file"}
	}
	return nil
}

// Preflight checks what validation cannot without touching the local
// filesystem: key files exist and parse. It changes nothing.
func (s *Site) Preflight() error {
	var es Errors
	for i, h := range s.Hosts {
		if h.Auth.Method == AuthKey {
			if e := CheckKeyFile(h.Auth.KeyFile); e != nil {
				es.add(fmt.Sprintf("hosts[%d].auth.key_file", i), e.Fix, "%s", e.Problem)
			}
		}
	}
	return es.orNil()
}
