package ssh

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/atomicfile"
)

// KnownHosts pins the host key of every host on first connection (trust on
// first use) and refuses a later connection whose key differs.
//
// The file holds one line per pinned key:
//
//	name address:port key-type base64-key
//
// for example
//
//	manager 10.0.0.2:22 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...
//
// A host is identified by its site-file name together with its address, so
// two VMs with the same private address behind different jump hosts keep
// separate entries. Lines starting with # and blank lines are ignored. The
// file is written with mode 0600, atomically. A store opened with an empty
// path lives in memory only.
//
// A KnownHosts is safe for concurrent use.
type KnownHosts struct {
	path     string
	mu       sync.Mutex
	entries  []knownEntry
	readOnly bool
}

// ReadOnly makes the store check keys without pinning new ones or
// writing its file (`plan` changes nothing, not even known_hosts).
func (k *KnownHosts) ReadOnly() *KnownHosts {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.readOnly = true
	return k
}

type knownEntry struct {
	name string
	addr string
	key  gossh.PublicKey
}

// Open loads the known-hosts file at path, or starts an empty store when it
// does not exist yet. An empty path gives a store kept in memory only.
func Open(path string) (*KnownHosts, error) {
	k := &KnownHosts{path: path}
	if path == "" {
		return k, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read known hosts %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 4 {
			return nil, fmt.Errorf("known hosts %s line %d: want \"name address:port key-type key\", got %q: fix or delete the line", path, n, line)
		}
		raw, err := base64.StdEncoding.DecodeString(f[3])
		if err != nil {
			return nil, fmt.Errorf("known hosts %s line %d: bad key: %v: fix or delete the line", path, n, err)
		}
		key, err := gossh.ParsePublicKey(raw)
		if err != nil {
			return nil, fmt.Errorf("known hosts %s line %d: bad key: %v: fix or delete the line", path, n, err)
		}
		if key.Type() != f[2] {
			return nil, fmt.Errorf("known hosts %s line %d: key type %s does not match key %s: fix or delete the line", path, n, f[2], key.Type())
		}
		k.entries = append(k.entries, knownEntry{name: f[0], addr: f[1], key: key})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read known hosts %s: %w", path, err)
	}
	return k, nil
}

// Path is the file the store is saved to ("" for a store in memory).
func (k *KnownHosts) Path() string { return k.path }

// Lookup returns the pinned keys of a host.
func (k *KnownHosts) Lookup(name, addr string) []gossh.PublicKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	var keys []gossh.PublicKey
	for _, e := range k.entries {
		if e.name == name && e.addr == addr {
			keys = append(keys, e.key)
		}
	}
	return keys
}

// Forget removes every key pinned for the host called name (any address)
// and saves the file. Steps that recreate a machine call it so the new
// machine's key is pinned on the next connection.
func (k *KnownHosts) Forget(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	kept := k.entries[:0:0]
	for _, e := range k.entries {
		if e.name != name {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(k.entries) {
		return nil
	}
	old := k.entries
	k.entries = kept
	if err := k.saveLocked(); err != nil {
		k.entries = old
		return err
	}
	return nil
}

// trust says what a first connection to a host may pin.
type trust struct {
	// expected is the fingerprint the key must have ("" when unknown).
	expected string
	// acceptNew pins an unknown key without a fingerprint to compare.
	acceptNew bool
}

// check verifies key for the host, pinning it when the host is new and
// the key is the expected one (or new keys are accepted).
func (k *KnownHosts) check(name, addr string, key gossh.PublicKey, tr trust) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	var pinned []gossh.PublicKey
	for _, e := range k.entries {
		if e.name == name && e.addr == addr {
			if bytes.Equal(e.key.Marshal(), key.Marshal()) {
				return nil
			}
			pinned = append(pinned, e.key)
		}
	}
	if len(pinned) > 0 {
		return &HostKeyMismatchError{
			Host: name, Address: addr, File: k.path,
			Want: gossh.FingerprintSHA256(pinned[0]),
			Got:  gossh.FingerprintSHA256(key),
		}
	}
	got := gossh.FingerprintSHA256(key)
	switch {
	case tr.expected != "" && tr.expected != got:
		return &HostKeyMismatchError{Host: name, Address: addr, Want: tr.expected, Got: got, FromSite: true}
	case tr.expected == "" && !tr.acceptNew:
		return &HostKeyUnknownError{Host: name, Address: addr, Got: got}
	}
	if k.readOnly {
		return nil
	}
	k.entries = append(k.entries, knownEntry{name: name, addr: addr, key: key})
	if err := k.saveLocked(); err != nil {
		k.entries = k.entries[:len(k.entries)-1]
		return fmt.Errorf("pin the host key of %s (%s): %w", name, addr, err)
	}
	return nil
}

// hostKeyAlgorithms lists the algorithms that can verify the pinned keys,
// so the server is asked for the key that was pinned and not another type.
func (k *KnownHosts) hostKeyAlgorithms(name, addr string) []string {
	var algos []string
	for _, key := range k.Lookup(name, addr) {
		switch key.Type() {
		case gossh.KeyAlgoRSA:
			algos = append(algos, gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256, gossh.KeyAlgoRSA)
		case gossh.CertAlgoRSAv01:
			algos = append(algos, gossh.CertAlgoRSASHA512v01, gossh.CertAlgoRSASHA256v01, gossh.CertAlgoRSAv01)
		default:
			algos = append(algos, key.Type())
		}
	}
	return algos
}

func (k *KnownHosts) saveLocked() error {
	if k.path == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("# Host keys pinned by collabstack: name address:port key-type key.\n")
	b.WriteString("# Remove a host's line after reinstalling it; it is pinned again on the next connection.\n")
	for _, e := range k.entries {
		fmt.Fprintf(&b, "%s %s %s %s\n", e.name, e.addr, e.key.Type(), base64.StdEncoding.EncodeToString(e.key.Marshal()))
	}
	dir := filepath.Dir(k.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save known hosts: %w", err)
	}
	if err := atomicfile.Write(k.path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("save known hosts: %w", err)
	}
	return nil
}

// callback returns the host key callback for one host; it records the
// fingerprint of the key it accepted in *fp.
func (k *KnownHosts) callback(name, addr string, tr trust, fp *string) gossh.HostKeyCallback {
	return func(_ string, _ net.Addr, key gossh.PublicKey) error {
		if err := k.check(name, addr, key, tr); err != nil {
			return err
		}
		*fp = gossh.FingerprintSHA256(key)
		return nil
	}
}

// HostKeyMismatchError is returned when a host presents a key other than
// the one pinned on the first connection.
type HostKeyMismatchError struct {
	Host    string // site-file name
	Address string // address:port
	File    string // known-hosts file ("" when kept in memory)
	Want    string // SHA256 fingerprint of the pinned key
	Got     string // SHA256 fingerprint of the offered key ("" when the host offered no key of the pinned type)
	// FromSite: Want is the site file's host_key, not a pinned key.
	FromSite bool
}

func (e *HostKeyMismatchError) Error() string {
	got := e.Got
	if got == "" {
		got = "no key of the pinned type"
	}
	if e.FromSite {
		return fmt.Sprintf("host key of %s (%s) is not the one the site file gives: host_key is %s, the host offers %s. "+
			"Someone may be intercepting the connection: compare with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host's console before you change host_key", e.Host, e.Address, e.Want, got)
	}
	msg := fmt.Sprintf("host key of %s (%s) has changed: pinned %s, the host now offers %s. "+
		"Either the host was reinstalled, or someone is intercepting the connection", e.Host, e.Address, e.Want, got)
	if e.File != "" {
		return msg + fmt.Sprintf(": verify that %s was reinstalled, then remove the line starting with %q from %s and connect again", e.Host, e.Host+" "+e.Address, e.File)
	}
	return msg + fmt.Sprintf(": verify that %s was reinstalled, then connect again", e.Host)
}

// HostKeyUnknownError is returned on the first connection to a host whose
// key nobody vouched for: no host_key in the site file, no pinned key, and
// new keys not accepted (a headless apply without --accept-new-host-keys).
type HostKeyUnknownError struct {
	Host    string // site-file name
	Address string // address:port
	Got     string // SHA256 fingerprint of the offered key
}

func (e *HostKeyUnknownError) Error() string {
	return fmt.Sprintf("host key of %s (%s) is not known yet: it offers %s. Compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the host's console, "+
		"then write it under the host as host_key: %s in the site file, or run again with --accept-new-host-keys to trust it on this first connection", e.Host, e.Address, e.Got, e.Got)
}

// TrustProblem marks the error as one about whom to trust (exit code 4).
func (e *HostKeyMismatchError) TrustProblem() bool { return true }

// TrustProblem marks the error as one about whom to trust (exit code 4).
func (e *HostKeyUnknownError) TrustProblem() bool { return true }
