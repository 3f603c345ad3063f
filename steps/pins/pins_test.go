package pins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// upper is a format with one value field, kept upper-case.
var upper = Format{
	What: "test pins", Fields: 1, Usage: "name address:port value",
	Normalize: func(v string) (string, error) {
		if strings.ContainsAny(v, "!") {
			return "", fmt.Errorf("bad value %q", v)
		}
		return strings.ToUpper(v), nil
	},
	Header: []string{"pinned by a test"},
}

// A value is pinned on first use, kept in a 0600 file, accepted again
// after a reopen and refused when it changes.
func TestPinOnFirstUseThenRefuseAChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "pins")
	s, err := Open(path, upper)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check("h1", "10.0.0.1:22", "aa", nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "# pinned by a test\nh1 10.0.0.1:22 AA\n" {
		t.Errorf("file:\n%s", data)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", p, st.Mode().Perm(), err, want)
		}
	}
	again, err := Open(path, upper)
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Check("h1", "10.0.0.1:22", "AA", func() error { return errors.New("asked about a pinned host") }); err != nil {
		t.Fatal(err)
	}
	err = again.Check("h1", "10.0.0.1:22", "bb", nil)
	var mm *MismatchError
	if !errors.As(err, &mm) || !errors.Is(err, ErrChanged) {
		t.Fatalf("a changed value gave %v", err)
	}
	if mm.Want != "AA" || mm.Got != "BB" || mm.File != path || mm.Name != "h1" {
		t.Errorf("mismatch %+v", mm)
	}
	// The same name at another address is another pin.
	if err := again.Check("h1", "10.0.0.2:22", "bb", nil); err != nil {
		t.Fatal(err)
	}
	if got := again.Lookup("h1", "10.0.0.1:22"); len(got) != 1 || got[0] != "AA" {
		t.Errorf("Lookup = %v", got)
	}
}

// first decides about a host without a pin; its error pins nothing.
func TestFirstRefusesOrAllows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins")
	s, _ := Open(path, upper)
	no := errors.New("nobody vouched for it")
	if err := s.Check("h", "a:1", "x", func() error { return no }); err != no {
		t.Fatalf("refused first use gave %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a refused value was written")
	}
	if err := s.Check("h", "a:1", "x", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(s.Lookup("h", "a:1")) != 1 {
		t.Error("an allowed value was not pinned")
	}
}

// A read-only store checks without pinning or writing (plan).
func TestReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins")
	os.WriteFile(path, []byte("h a:1 X\n"), 0o600)
	s, _ := Open(path, upper)
	s.ReadOnly()
	if err := s.Check("new", "b:1", "y", nil); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(s.Check("h", "a:1", "z", nil), ErrChanged) {
		t.Error("a read-only store let a change through")
	}
	if data, _ := os.ReadFile(path); string(data) != "h a:1 X\n" {
		t.Errorf("a read-only store wrote:\n%s", data)
	}
}

// A pin another process wrote after the store was read counts.
func TestAPinWrittenSinceCounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins")
	mine, _ := Open(path, upper)
	other, _ := Open(path, upper)
	if err := other.Check("h", "a:1", "x", nil); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(mine.Check("h", "a:1", "y", nil), ErrChanged) {
		t.Error("the other process's pin was overwritten")
	}
}

// Forget drops every pin of a name, so its next value is pinned.
func TestForget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins")
	s, _ := Open(path, upper)
	s.Check("h", "a:1", "x", nil)
	s.Check("h", "b:1", "x", nil)
	s.Check("k", "a:1", "x", nil)
	if err := s.Forget("h"); err != nil {
		t.Fatal(err)
	}
	if err := s.Check("h", "a:1", "y", nil); err != nil {
		t.Fatalf("after Forget: %v", err)
	}
	reopened, _ := Open(path, upper)
	if got := reopened.Lookup("h", "a:1"); len(got) != 1 || got[0] != "Y" {
		t.Errorf("after Forget and a new pin: %v", got)
	}
	if len(reopened.Lookup("h", "b:1")) != 0 || len(reopened.Lookup("k", "a:1")) != 1 {
		t.Error("Forget dropped the wrong pins")
	}
}

// A malformed line names the file, the line and the fix.
func TestMalformedLines(t *testing.T) {
	for content, want := range map[string]string{
		"# c\n\nh a:1\n":    `line 3: want "name address:port value"`,
		"h a:1 x y\n":       "line 1: want",
		"h a:1 ok\nh a:1 !": "line 2: bad value",
	} {
		path := filepath.Join(t.TempDir(), "pins")
		os.WriteFile(path, []byte(content), 0o600)
		_, err := Open(path, upper)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "fix or delete the line") {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
}

// A store in memory never writes.
func TestInMemory(t *testing.T) {
	s, err := Open("", upper)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check("h", "a:1", "x", nil); err != nil || s.Path() != "" {
		t.Fatal(err)
	}
	if !errors.Is(s.Check("h", "a:1", "y", nil), ErrChanged) {
		t.Error("a change passed")
	}
}
