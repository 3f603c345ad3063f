package proxmox

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/collabstack/collabstack/steps/atomicfile"
)

// Pins keeps the TLS certificate fingerprint of every PVE API collabstack
// talked to, pinned on first use, and refuses a later connection whose
// certificate differs (as known_hosts does for SSH host keys).
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
	path    string
	mu      sync.Mutex
	entries []pinEntry
}

type pinEntry struct{ name, addr, fp string }

var errNotPinned = errors.New("not pinned")

// PinsFile is the pins file in a state directory.
func PinsFile(stateDir string) string { return filepath.Join(stateDir, "proxmox", "tls_fingerprints") }

// OpenPins loads the pins at path, or starts an empty store.
func OpenPins(path string) (*Pins, error) {
	p := &Pins{path: path}
	if path == "" {
		return p, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the pinned PVE certificates %s: %w", path, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(f[2]) != 95 {
			return nil, fmt.Errorf("pinned PVE certificates %s line %d: want \"name address:port fingerprint\", got %q: fix or delete the line", path, n, line)
		}
		p.entries = append(p.entries, pinEntry{name: f[0], addr: f[1], fp: strings.ToUpper(f[2])})
	}
	return p, sc.Err()
}

// Lookup returns the pinned fingerprint of an API ("" when none).
func (p *Pins) Lookup(name, addr string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.entries {
		if e.name == name && e.addr == addr {
			return e.fp
		}
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
	fp := Fingerprint(der)
	p.mu.Lock()
	defer p.mu.Unlock()
	find := func() error {
		for _, e := range p.entries {
			if e.name == name && e.addr == addr {
				if e.fp == fp {
					return nil
				}
				return &CertMismatchError{Host: name, Address: addr, File: p.path, Want: e.fp, Got: fp}
			}
		}
		return errNotPinned
	}
	if err := find(); err != errNotPinned {
		return err
	}
	// Another process (a rollback) may have pinned it since the file was read.
	if p.path != "" {
		if fresh, err := OpenPins(p.path); err == nil {
			p.entries = fresh.entries
			if err := find(); err != errNotPinned {
				return err
			}
		}
	}
	p.entries = append(p.entries, pinEntry{name: name, addr: addr, fp: fp})
	if err := p.saveLocked(); err != nil {
		p.entries = p.entries[:len(p.entries)-1]
		return fmt.Errorf("pin the certificate of the PVE API on %s (%s): %w", name, addr, err)
	}
	return nil
}

// Expect pins fp (learnt over a trusted channel: SSH with a pinned host
// key) for an API not pinned yet; a different pin already there is a
// mismatch.
func (p *Pins) Expect(name, addr, fp string) error {
	fp = strings.ToUpper(strings.TrimSpace(fp))
	if len(fp) != 95 {
		return fmt.Errorf("certificate fingerprint %q of %s: want 32 hex bytes joined by colons", fp, name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.entries {
		if e.name == name && e.addr == addr {
			if e.fp == fp {
				return nil
			}
			return &CertMismatchError{Host: name, Address: addr, File: p.path, Want: e.fp, Got: fp}
		}
	}
	p.entries = append(p.entries, pinEntry{name: name, addr: addr, fp: fp})
	if err := p.saveLocked(); err != nil {
		p.entries = p.entries[:len(p.entries)-1]
		return err
	}
	return nil
}

// Forget removes the pins of the API called name and saves the file.
func (p *Pins) Forget(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.entries[:0:0]
	for _, e := range p.entries {
		if e.name != name {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(p.entries) {
		return nil
	}
	old := p.entries
	p.entries = kept
	if err := p.saveLocked(); err != nil {
		p.entries = old
		return err
	}
	return nil
}

func (p *Pins) saveLocked() error {
	if p.path == "" {
		return nil
	}
	var b strings.Builder
	b.WriteString("# TLS certificates of Proxmox VE APIs, pinned by collabstack: name address:port SHA-256.\n")
	b.WriteString("# After replacing a node's certificate, remove its line; it is pinned again on the next connection.\n")
	for _, e := range p.entries {
		fmt.Fprintf(&b, "%s %s %s\n", e.name, e.addr, e.fp)
	}
	if err := os.MkdirAll(filepath.Dir(p.path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(p.path, []byte(b.String()), 0o600)
}

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

func (e *CertMismatchError) Error() string {
	msg := fmt.Sprintf("the TLS certificate of the Proxmox VE API on %s (%s) has changed: pinned %s, the API now offers %s. "+
		"Either the node's certificate was replaced (a reinstall, `pvecm updatecerts`, an ACME certificate), or someone is intercepting the connection",
		e.Host, e.Address, e.Want, e.Got)
	if e.File != "" {
		return msg + fmt.Sprintf(": compare with `pvenode cert info` on %s, then remove the line starting with %q from %s and run again", e.Host, e.Host+" "+e.Address, e.File)
	}
	return msg + fmt.Sprintf(": compare with `pvenode cert info` on %s, then run again", e.Host)
}
