package proxmox

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/collabstack/collabstack/steps/pins"
)

// Pins keeps the TLS certificate fingerprint of every PVE API collabstack
// talked to, pinned on first use, and refuses a later connection whose
// certificate differs. It is a store of steps/pins, as known_hosts is for
// SSH host keys.
//
// The file holds one line per API:
//
//	name address:port SHA256-fingerprint
//
// for example
//
//	pve1 192.0.2.10:8006 4F:1A:...:9C
//
// with the fingerprint in PVE's notation (the ssl_fingerprint of
// /nodes, and what `pvenode cert info` prints). Lines starting with # and
// blank lines are ignored. The file is written 0600, atomically. A store
// opened with an empty path lives in memory only. Pins is safe for
// concurrent use.
type Pins struct {
	store *pins.Store
}

// pinsFormat is the layout of the pins file.
var pinsFormat = pins.Format{
	What:   "pinned PVE certificates",
	Fields: 1,
	Usage:  "name address:port fingerprint",
	Normalize: func(fp string) (string, error) {
		fp = strings.ToUpper(strings.TrimSpace(fp))
		if len(fp) != 95 {
			return "", fmt.Errorf("certificate fingerprint %q: want 32 hex bytes joined by colons", fp)
		}
		return fp, nil
	},
	Header: []string{
		"TLS certificates of Proxmox VE APIs, pinned by collabstack: name address:port SHA-256.",
		"After replacing a node's certificate, remove its line; it is pinned again on the next connection.",
	},
}

// PinsFile is the pins file in a state directory.
func PinsFile(stateDir string) string { return filepath.Join(stateDir, "proxmox", "tls_fingerprints") }

// OpenPins loads the pins at path, or starts an empty store.
func OpenPins(path string) (*Pins, error) {
	s, err := pins.Open(path, pinsFormat)
	if err != nil {
		return nil, err
	}
	return &Pins{store: s}, nil
}

// Lookup returns the pinned fingerprint of an API ("" when none).
func (p *Pins) Lookup(name, addr string) string {
	if fps := p.store.Lookup(name, addr); len(fps) > 0 {
		return fps[0]
	}
	return ""
}

// Fingerprint is the SHA-256 fingerprint of a DER certificate in PVE's
// notation: upper-case hex bytes joined by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// Check verifies the certificate an API presented, pinning it when the
// API is new.
func (p *Pins) Check(name, addr string, der []byte) error {
	if err := p.pin(name, addr, Fingerprint(der)); err != nil {
		var mismatch *CertMismatchError
		if errors.As(err, &mismatch) {
			return err
		}
		return fmt.Errorf("pin the certificate of the PVE API on %s (%s): %w", name, addr, err)
	}
	return nil
}

// Expect pins fp (learnt over a trusted channel: SSH with a pinned host
// key) for an API not pinned yet; a different pin already there is a
// mismatch.
func (p *Pins) Expect(name, addr, fp string) error {
	if err := p.pin(name, addr, fp); err != nil {
		var mismatch *CertMismatchError
		if errors.As(err, &mismatch) {
			return err
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (p *Pins) pin(name, addr, fp string) error {
	err := p.store.Check(name, addr, fp, nil)
	var mm *pins.MismatchError
	if errors.As(err, &mm) {
		return &CertMismatchError{Host: name, Address: addr, File: mm.File, Want: mm.Want, Got: mm.Got}
	}
	return err
}

// Forget removes the pins of the API called name and saves the file.
func (p *Pins) Forget(name string) error { return p.store.Forget(name) }

// CertMismatchError is returned when a PVE API presents a certificate
// other than the one pinned on the first connection. It stops the run:
// every later call would send the API token to whoever answers.
type CertMismatchError struct {
	Host    string // site-file name of the PVE host
	Address string // address:port of the API
	File    string // pins file ("" when kept in memory)
	Want    string // pinned fingerprint
	Got     string // fingerprint offered now
}

// Is makes errors.Is(err, pins.ErrChanged) true, as for a changed host key.
func (e *CertMismatchError) Is(target error) bool { return target == pins.ErrChanged }

func (e *CertMismatchError) Error() string {
	msg := fmt.Sprintf("the TLS certificate of the Proxmox VE API on %s (%s) has changed: pinned %s, the API now offers %s. "+
		"Either the node's certificate was replaced (a reinstall, `pvecm updatecerts`, an ACME certificate), or someone is intercepting the connection",
		e.Host, e.Address, e.Want, e.Got)
	if e.File != "" {
		return msg + fmt.Sprintf(": compare with `pvenode cert info` on %s, then remove the line starting with %q from %s and run again", e.Host, e.Host+" "+e.Address, e.File)
	}
	return msg + fmt.Sprintf(": compare with `pvenode cert info` on %s, then run again", e.Host)
}
