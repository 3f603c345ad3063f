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

// Issue makes a new ed25519 key pair at path, replacing one that is there
// (the private half 0600 in a 0700 folder, the public half as path.pub),
// and returns the private key (OpenSSH PEM) and the public half as an
// authorized_keys line ending in comment: a host key collabstack gives a
// machine it makes, new for every machine it makes.
func Issue(path, comment string) (private []byte, public string, err error) {
	keyMu.Lock()
	defer keyMu.Unlock()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", fmt.Errorf("make the key %s: %w", path, err)
	}
	block, err := gossh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, "", fmt.Errorf("make the key %s: %w", path, err)
	}
	sshPub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return nil, "", fmt.Errorf("make the key %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", fmt.Errorf("make the key %s: %w", path, err)
	}
	private = pem.EncodeToMemory(block)
	if err := atomicfile.Write(path, private, 0o600); err != nil {
		return nil, "", fmt.Errorf("save the key %s: %w", path, err)
	}
	line := AuthorizedLine(sshPub, comment)
	if err := atomicfile.Write(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		return nil, "", fmt.Errorf("save the key %s.pub: %w", path, err)
	}
	return private, line, nil
}

// Fingerprint is the SHA256 fingerprint of the public key at path.pub,
// "" when there is none.
func Fingerprint(path string) string {
	data, err := os.ReadFile(path + ".pub")
	if err != nil {
		return ""
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey(data)
	if err != nil {
		return ""
	}
	return gossh.FingerprintSHA256(k)
}

// Dropbear returns the ed25519 private key at path in dropbear's own key
// file format, which OpenWrt's dropbear reads as
// /etc/dropbear/dropbear_ed25519_host_key: the string "ssh-ed25519", then
// a 64-byte string of the 32-byte seed and the 32-byte public key
// (dropbear's buf_put_ed25519_priv_key in src/ed25519.c; each string is a
// big-endian uint32 length and the bytes, as in the SSH wire format).
func Dropbear(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the key %s: %w", path, err)
	}
	raw, err := gossh.ParseRawPrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("read the key %s: %w", path, err)
	}
	var priv ed25519.PrivateKey
	switch k := raw.(type) {
	case ed25519.PrivateKey:
		priv = k
	case *ed25519.PrivateKey:
		priv = *k
	default:
		return nil, fmt.Errorf("the key %s is %T, not ed25519", path, raw)
	}
	var b []byte
	str := func(s []byte) {
		b = append(b, byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s)))
		b = append(b, s...)
	}
	str([]byte(gossh.KeyAlgoED25519))
	str(append(append([]byte{}, priv.Seed()...), priv.Public().(ed25519.PublicKey)...))
	return b, nil
}
