// Package sshkey is the one key helper: every SSH key collabstack makes
// (a site's, the lab's, the VMs') and every public half it hands out
// comes from here. It reads and writes key files only; connecting is
// steps/ssh's business, so a step that needs a key does not import the
// transport.
package sshkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/atomicfile"
)

// Comment ends the authorized_keys lines of the keys collabstack makes.
const Comment = "collabstack"

// keyMu serialises Ensure, so two steps making the same key at once
// end with one key.
var keyMu sync.Mutex

// Ensure makes an ed25519 key pair at path (the private half 0600 in a
// 0700 folder, the public half beside it as path.pub, 0644) unless a key
// is there already, and returns its public half as an authorized_keys
// line ending in comment. Every key collabstack makes (a site's, the
// lab's, the VMs') comes from here.
func Ensure(path, comment string) (string, error) {
	keyMu.Lock()
	defer keyMu.Unlock()
	data, err := os.ReadFile(path)
	if err == nil {
		signer, err := gossh.ParsePrivateKey(data)
		if err != nil {
			return "", fmt.Errorf("read the key %s: %w: remove it and %s.pub to make a new one (hosts that trust the old key then need the new one)", path, err, path)
		}
		return AuthorizedLine(signer.PublicKey(), comment), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read the key %s: %w", path, err)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("make the key %s: %w", path, err)
	}
	block, err := gossh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return "", fmt.Errorf("make the key %s: %w", path, err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("make the key %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("make the key %s: %w", path, err)
	}
	if err := atomicfile.Write(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", fmt.Errorf("save the key %s: %w", path, err)
	}
	line := AuthorizedLine(sshPub, comment)
	if err := atomicfile.Write(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("save the key %s.pub: %w", path, err)
	}
	return line, nil
}

// PublicOf reads keyFile.pub, or derives the public half from the
// private key file, and returns it as an authorized_keys line ending in
// comment.
func PublicOf(keyFile, comment string) (string, error) {
	keyFile = ExpandHome(keyFile)
	if pub, err := os.ReadFile(keyFile + ".pub"); err == nil {
		if k, _, _, _, err := gossh.ParseAuthorizedKey(pub); err == nil {
			return AuthorizedLine(k, comment), nil
		}
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return "", fmt.Errorf("read collabstack's key %s: %w", keyFile, err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return "", fmt.Errorf("read the public half of %s: %w: put the public key beside it as %s.pub", keyFile, err, keyFile)
	}
	return AuthorizedLine(signer.PublicKey(), comment), nil
}

// AuthorizedLine is k as one authorized_keys line, without a newline.
func AuthorizedLine(k gossh.PublicKey, comment string) string {
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k)))
	if comment != "" {
		line += " " + comment
	}
	return line
}

// ExpandHome replaces a leading ~ of a key file's path (as a site file
// may give it) with the user's home directory.
func ExpandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}
