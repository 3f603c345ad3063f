// Package pins is the one store of things collabstack pins on first use
// and refuses to see change afterwards: the SSH host keys (steps/ssh,
// state dir known_hosts) and the TLS certificates of PVE APIs
// (steps/proxmox, state dir proxmox/tls_fingerprints).
//
// A store is a text file with one pin a line:
//
//	name address:port value...
//
// where name is the site-file name of the host, address:port where it
// answered, and the value one or more fields whose meaning the user of the
// store gives (Format). Lines starting with # and blank lines are ignored.
// The file is written 0600, atomically (steps/atomicfile), in a 0700
// folder. A store opened with an empty path lives in memory only.
//
// A Store is safe for concurrent use.
package pins

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/collabstack/collabstack/steps/atomicfile"
)

// Format says what one kind of pin looks like.
type Format struct {
	// What names the file in messages ("known hosts").
	What string
	// Fields is the number of value fields after name and address.
	Fields int
	// Usage is the line layout shown when a line is malformed
	// ("name address:port key-type key").
	Usage string
	// Normalize checks a value (its fields joined by one space) and
	// returns its canonical form, which is what is compared and saved.
	// Nil keeps values as they are.
	Normalize func(value string) (string, error)
	// Header is written as comment lines at the top of the file.
	Header []string
}

// Entry is one pin.
type Entry struct {
	Name, Addr, Value string
}

// Store is a file of pins.
type Store struct {
	path     string
	f        Format
	mu       sync.Mutex
	entries  []Entry
	readOnly bool
}

// ErrChanged is what every mismatch (*MismatchError) is: a host offers
// something other than what was pinned for it.
var ErrChanged = errors.New("pinned value changed")

// MismatchError says that a host offers Got where Want is pinned.
type MismatchError struct {
	Name, Addr string
	File       string // the store's file ("" for a store in memory)
	Want, Got  string // the pinned value (the first, when several) and the one offered
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s (%s): pinned %s, offered %s", e.Name, e.Addr, e.Want, e.Got)
}

// Is makes errors.Is(err, ErrChanged) true.
func (e *MismatchError) Is(target error) bool { return target == ErrChanged }

// Open loads the store at path, or starts an empty one when the file does
// not exist yet (or path is "").
func Open(path string, f Format) (*Store, error) {
	s := &Store{path: path, f: f}
	if path == "" {
		return s, nil
	}
	entries, err := s.read()
	if err != nil {
		return nil, err
	}
	s.entries = entries
	return s, nil
}

func (s *Store) read() ([]Entry, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", s.f.What, s.path, err)
	}
	var entries []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2+s.f.Fields {
			return nil, fmt.Errorf("%s %s line %d: want %q, got %q: fix or delete the line", s.f.What, s.path, n, s.f.Usage, line)
		}
		value, err := s.normalize(strings.Join(fields[2:], " "))
		if err != nil {
			return nil, fmt.Errorf("%s %s line %d: %v: fix or delete the line", s.f.What, s.path, n, err)
		}
		entries = append(entries, Entry{Name: fields[0], Addr: fields[1], Value: value})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s %s: %w", s.f.What, s.path, err)
	}
	return entries, nil
}

func (s *Store) normalize(v string) (string, error) {
	if s.f.Normalize == nil {
		return v, nil
	}
	return s.f.Normalize(v)
}

// Path is the store's file ("" for a store in memory).
func (s *Store) Path() string { return s.path }

// ReadOnly makes the store check values without pinning new ones or
// writing its file (`plan` changes nothing).
func (s *Store) ReadOnly() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.readOnly = true
}

// Lookup returns the values pinned for a host at an address.
func (s *Store) Lookup(name, addr string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookupLocked(name, addr)
}

func (s *Store) lookupLocked(name, addr string) []string {
	var vals []string
	for _, e := range s.entries {
		if e.Name == name && e.Addr == addr {
			vals = append(vals, e.Value)
		}
	}
	return vals
}

// Check compares value with the pins of a host at an address: nil when
// it is pinned, a *MismatchError when other values are. A host with no
// pin (in memory, nor in the file, which another process may have
// written since it was read) is asked about with first: an error from it
// refuses the value; nil pins it and saves the file (unless the store is
// read-only). A nil first pins any new value.
func (s *Store) Check(name, addr, value string, first func() error) error {
	value, err := s.normalize(value)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	find := func() (bool, error) {
		pinned := s.lookupLocked(name, addr)
		for _, v := range pinned {
			if v == value {
				return true, nil
			}
		}
		if len(pinned) > 0 {
			return true, &MismatchError{Name: name, Addr: addr, File: s.path, Want: pinned[0], Got: value}
		}
		return false, nil
	}
	if found, err := find(); found {
		return err
	}
	if s.path != "" {
		if fresh, err := s.read(); err == nil {
			s.entries = fresh
			if found, err := find(); found {
				return err
			}
		}
	}
	if first != nil {
		if err := first(); err != nil {
			return err
		}
	}
	if s.readOnly {
		return nil
	}
	s.entries = append(s.entries, Entry{Name: name, Addr: addr, Value: value})
	if err := s.saveLocked(); err != nil {
		s.entries = s.entries[:len(s.entries)-1]
		return err
	}
	return nil
}

// Forget removes every pin of the host called name (any address) and
// saves the file: after a host was reinstalled, or a machine made anew,
// its new value is pinned on the next check.
func (s *Store) Forget(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.entries[:0:0]
	for _, e := range s.entries {
		if e.Name != name {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(s.entries) {
		return nil
	}
	old := s.entries
	s.entries = kept
	if err := s.saveLocked(); err != nil {
		s.entries = old
		return err
	}
	return nil
}

// Replace pins value as the one value of the host called name, at addr,
// dropping its other pins (any address), and saves the file: for a
// machine collabstack made anew, whose new value it knows. A read-only
// store changes nothing.
func (s *Store) Replace(name, addr, value string) error {
	value, err := s.normalize(value)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readOnly {
		return nil
	}
	kept := s.entries[:0:0]
	for _, e := range s.entries {
		if e.Name != name {
			kept = append(kept, e)
		}
	}
	old := s.entries
	s.entries = append(kept, Entry{Name: name, Addr: addr, Value: value})
	if err := s.saveLocked(); err != nil {
		s.entries = old
		return err
	}
	return nil
}

func (s *Store) saveLocked() error {
	if s.path == "" {
		return nil
	}
	var b strings.Builder
	for _, h := range s.f.Header {
		fmt.Fprintf(&b, "# %s\n", h)
	}
	for _, e := range s.entries {
		fmt.Fprintf(&b, "%s %s %s\n", e.Name, e.Addr, e.Value)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("save %s: %w", s.f.What, err)
	}
	if err := atomicfile.Write(s.path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("save %s: %w", s.f.What, err)
	}
	return nil
}
