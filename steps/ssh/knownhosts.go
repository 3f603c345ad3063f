package ssh

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/pins"
)

// KnownHosts pins the host key of every host on its first connection
// (when something vouches for that key: the spec's fingerprint, or an
// explicit trust on first use) and refuses a later connection whose key
// differs. It is a
// store of steps/pins, as the PVE certificate pins are.
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
	store *pins.Store
}

// knownHostsFormat is the layout of the known_hosts file.
var knownHostsFormat = pins.Format{
	What:   "known hosts",
	Fields: 2,
	Usage:  "name address:port key-type key",
	Normalize: func(value string) (string, error) {
		key, err := parseKnownKey(value)
		if err != nil {
			return "", err
		}
		return knownValue(key), nil
	},
	Header: []string{
		"Host keys pinned by collabstack: name address:port key-type key.",
		"Remove a host's line after reinstalling it; it is pinned again on the next connection.",
	},
}

// knownValue is a key as the file holds it: "key-type base64-key".
func knownValue(key gossh.PublicKey) string {
	return key.Type() + " " + base64.StdEncoding.EncodeToString(key.Marshal())
}

func parseKnownKey(value string) (gossh.PublicKey, error) {
	typ, b64, _ := strings.Cut(value, " ")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("bad key: %v", err)
	}
	key, err := gossh.ParsePublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("bad key: %v", err)
	}
	if key.Type() != typ {
		return nil, fmt.Errorf("key type %s does not match key %s", typ, key.Type())
	}
	return key, nil
}

// ReadOnly makes the store check keys without pinning new ones or
// writing its file (`plan` changes nothing, not even known_hosts).
func (k *KnownHosts) ReadOnly() *KnownHosts {
	k.store.ReadOnly()
	return k
}

// Open loads the known-hosts file at path, or starts an empty store when it
// does not exist yet. An empty path gives a store kept in memory only.
func Open(path string) (*KnownHosts, error) {
	s, err := pins.Open(path, knownHostsFormat)
	if err != nil {
		return nil, err
	}
	return &KnownHosts{store: s}, nil
}

// Path is the file the store is saved to ("" for a store in memory).
func (k *KnownHosts) Path() string { return k.store.Path() }

// Lookup returns the pinned keys of a host.
func (k *KnownHosts) Lookup(name, addr string) []gossh.PublicKey {
	var keys []gossh.PublicKey
	for _, v := range k.store.Lookup(name, addr) {
		if key, err := parseKnownKey(v); err == nil {
			keys = append(keys, key)
		}
	}
	return keys
}

// Forget removes every key pinned for the host called name (any address)
// and saves the file, so the host's next key is pinned (or refused) as a
// first one. A machine collabstack makes anew needs no Forget: its spec
// carries the key collabstack gave it (host.Spec.HostKeyIssued).
func (k *KnownHosts) Forget(name string) error { return k.store.Forget(name) }

// trust says what a first connection to a host may pin.
type trust struct {
	// expected is the fingerprint the key must have ("" when unknown).
	expected string
	// issued: expected is the key collabstack made and gave the machine
	// when it made it (host.Spec.HostKeyIssued), so that key replaces an
	// older pin of the host's name: the machine was made anew.
	issued bool
	// acceptNew pins an unknown key without a fingerprint to compare.
	acceptNew bool
}

// check verifies key for the host, pinning it when the host is new and
// the key is the expected one (or new keys are accepted). A pinned key
// is never replaced, except by the very key collabstack issued to a
// machine it made anew (trust.issued): any other change is a
// *HostKeyMismatchError.
func (k *KnownHosts) check(name, addr string, key gossh.PublicKey, tr trust) error {
	got := gossh.FingerprintSHA256(key)
	if tr.issued && tr.expected != "" && tr.expected != got {
		// collabstack knows the machine's key: even a pinned one (the old
		// machine's) is refused.
		return &HostKeyMismatchError{Host: name, Address: addr, Want: tr.expected, Got: got, Issued: true}
	}
	var refused error
	err := k.store.Check(name, addr, knownValue(key), func() error {
		switch {
		case tr.expected != "" && tr.expected != got:
			refused = &HostKeyMismatchError{Host: name, Address: addr, Want: tr.expected, Got: got, FromSite: true}
		case tr.expected == "" && !tr.acceptNew:
			refused = &HostKeyUnknownError{Host: name, Address: addr, Got: got}
		}
		return refused
	})
	var mm *pins.MismatchError
	switch {
	case err == nil:
		return nil
	case refused != nil:
		return refused
	case errors.As(err, &mm) && tr.issued && tr.expected == got:
		// The machine collabstack made anew offers the key collabstack
		// gave it: the old machine's pin goes.
		if err := k.store.Replace(name, addr, knownValue(key)); err != nil {
			return fmt.Errorf("pin the new host key of %s (%s): %w", name, addr, err)
		}
		return nil
	case errors.As(err, &mm):
		want := mm.Want
		if pinned, perr := parseKnownKey(mm.Want); perr == nil {
			want = gossh.FingerprintSHA256(pinned)
		}
		return &HostKeyMismatchError{Host: name, Address: addr, File: k.Path(), Want: want, Got: got}
	default:
		return fmt.Errorf("pin the host key of %s (%s): %w", name, addr, err)
	}
}

// hostKeyAlgorithms lists the algorithms that can verify the pinned keys,
// so the server is asked for the key that was pinned and not another type.
// With no pin but a fingerprint to compare (byFingerprint), ed25519 comes
// first: fingerprints are read from ssh_host_ed25519_key.pub (the site
// file's host_key) or are of the ed25519 key collabstack made, while
// x/crypto/ssh would otherwise pick ECDSA or RSA first from a server that
// has those keys too (Debian's sshd, OpenWrt's dropbear).
func (k *KnownHosts) hostKeyAlgorithms(name, addr string, byFingerprint bool) []string {
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
	if len(algos) == 0 && byFingerprint {
		algos = []string{gossh.KeyAlgoED25519, gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384, gossh.KeyAlgoECDSA521, gossh.KeyAlgoRSASHA512, gossh.KeyAlgoRSASHA256}
	}
	return algos
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
	// Issued: Want is the key collabstack made and gave the machine when
	// it made it (a VM's, through cloud-init or its first-boot script).
	Issued bool
}

func (e *HostKeyMismatchError) Error() string {
	got := e.Got
	if got == "" {
		got = "no key of the pinned type"
	}
	if e.Issued {
		return fmt.Sprintf("host key of %s (%s) is not the one collabstack gave it when it made it: it should offer %s, it offers %s. "+
			"Either the machine did not take its key (look at its console: cloud-init or the first-boot script), or someone is intercepting the connection", e.Host, e.Address, e.Want, got)
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

// Is makes errors.Is(err, host.ErrHostKeyChanged) true, so steps can stop
// waiting on a host without importing the transport.
func (e *HostKeyMismatchError) Is(target error) bool { return target == host.ErrHostKeyChanged }

// TrustProblem marks the error as one about whom to trust (exit code 4).
func (e *HostKeyUnknownError) TrustProblem() bool { return true }
