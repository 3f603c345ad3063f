// Package secrets keeps the generated secrets of a site: passwords, tokens
// and keys made with crypto/rand on first use, stored in a 0600 file beside
// the state and reused on every re-run. It also redacts every known secret
// from text before it reaches output, errors or the journal.
package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/atomicfile"
)

// Store is the secrets file of one site. It is safe for concurrent use.
type Store struct {
	path   string
	mu     sync.Mutex
	values map[string]string
}

// Open loads the secrets file at path, or starts an empty store when the
// file does not exist yet. A file readable by others is refused.
func Open(path string) (*Store, error) {
	s := &Store{path: path, values: map[string]string{}}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets %s: %w", path, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secrets file %s has mode %v: others can read it; run `chmod 600 %s` and rotate the secrets it holds", path, st.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secrets %s: %w", path, err)
	}
	if err := yaml.Unmarshal(data, &s.values); err != nil {
		return nil, fmt.Errorf("secrets file %s is damaged (%v): restore it from a backup; a new one would not match the passwords already set on the hosts", path, err)
	}
	if s.values == nil {
		s.values = map[string]string{}
	}
	return s, nil
}

// Path is where the store is saved.
func (s *Store) Path() string { return s.path }

// Get returns a secret and whether it exists.
func (s *Store) Get(name string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[name]
	return v, ok
}

// Set stores a secret given by the user (a host password, say) and saves.
func (s *Store) Set(name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[name] = value
	return s.saveLocked()
}

// Password returns the secret called name, generating a random one of n
// URL-safe characters on first use and saving the store before returning,
// so a crash can never lose a secret already applied to a host.
func (s *Store) Password(name string, n int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.values[name]; ok {
		return v, nil
	}
	v, err := Random(n)
	if err != nil {
		return "", err
	}
	s.values[name] = v
	if err := s.saveLocked(); err != nil {
		delete(s.values, name)
		return "", err
	}
	return v, nil
}

// Names lists the stored secret names, sorted.
func (s *Store) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.values))
	for k := range s.values {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Values returns every secret value (for the redactor).
func (s *Store) Values() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	vals := make([]string, 0, len(s.values))
	for _, v := range s.values {
		vals = append(vals, v)
	}
	return vals
}

func (s *Store) saveLocked() error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	data, err := yaml.Marshal(s.values)
	if err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	if err := atomicfile.Write(s.path, data, 0o600); err != nil {
		return fmt.Errorf("save secrets: %w", err)
	}
	return nil
}

// Random returns n URL-safe random characters from crypto/rand, never
// starting with "-": a value that does would be read as options by the
// tools it is handed to (radtest's radclient refused a RADIUS secret so,
// and a person pasting a password into a command hits the same).
func Random(n int) (string, error) {
	if n <= 0 {
		n = 24
	}
	buf := make([]byte, n)
	for {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("generate a secret: %w", err)
		}
		if s := base64.RawURLEncoding.EncodeToString(buf)[:n]; s[0] != '-' {
			return s, nil
		}
	}
}

// Redactor replaces known secrets in text with "[redacted]".
type Redactor struct {
	mu     sync.RWMutex
	values []string
	store  *Store
	// cache is the replacer of the values seen last (cacheKey).
	cache    *strings.Replacer
	cacheKey string
}

// NewRedactor redacts the values of store (read live, so secrets generated
// later are covered) plus any added with Add.
func NewRedactor(store *Store) *Redactor { return &Redactor{store: store} }

// Add registers extra secret values (a sudo password from the environment).
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		if len(v) >= 4 {
			r.values = append(r.values, v)
		}
	}
}

// Redact returns s with every known secret replaced.
func (r *Redactor) Redact(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.RLock()
	vals := append([]string(nil), r.values...)
	r.mu.RUnlock()
	if r.store != nil {
		vals = append(vals, r.store.Values()...)
	}
	return redactPatterns(r.replacer(vals).Replace(s))
}

// replacer replaces every secret of vals and its derived forms (Forms),
// built once per set of values.
func (r *Redactor) replacer(vals []string) *strings.Replacer {
	sort.Strings(vals)
	key := strings.Join(vals, "\x00")
	r.mu.RLock()
	rep, ok := r.cache, r.cacheKey == key && r.cache != nil
	r.mu.RUnlock()
	if ok {
		return rep
	}
	var forms []string
	for _, v := range vals {
		forms = append(forms, Forms(v)...)
	}
	// Longest first, so a secret containing another is replaced whole
	// (strings.Replacer tries its pairs in order at each position).
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "[redacted]")
	}
	rep = strings.NewReplacer(pairs...)
	r.mu.Lock()
	r.cache, r.cacheKey = rep, key
	r.mu.Unlock()
	return rep
}

// Error returns err with its message redacted, keeping nil as nil.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	red := r.Redact(msg)
	if red == msg {
		return err
	}
	return redactedError{msg: red, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is/As working; callers print Error(), which is clean.
func (e redactedError) Unwrap() error { return e.err }
