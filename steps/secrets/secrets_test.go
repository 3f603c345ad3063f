package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswordIsGeneratedOnceStored0600AndReused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state", "secrets.yaml")
	s, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.Password("postgres", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("%q %v", a, err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	s2, _ := Open(p)
	b, _ := s2.Password("postgres", 32)
	if a != b {
		t.Error("a re-run generated a new password")
	}
	c, _ := s2.Password("other", 32)
	if c == a {
		t.Error("two secrets are equal")
	}
}

func TestReadableByOthersIsRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "secrets.yaml")
	os.WriteFile(p, []byte("a: b\n"), 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v", err)
	}
}

func TestRedactor(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), "s.yaml"))
	s.Set("x", "topsecretvalue")
	r := NewRedactor(s)
	r.Add("sudo-pass")
	got := r.Redact("login topsecretvalue then sudo-pass")
	if got != "login [redacted] then [redacted]" {
		t.Errorf("got %q", got)
	}
	base := errors.New("failed with topsecretvalue")
	err := r.Error(base)
	if strings.Contains(err.Error(), "topsecretvalue") || !errors.Is(err, base) {
		t.Errorf("error redaction: %v", err)
	}
}

// A generated value never starts with "-" (tools would take it for an
// option); 64 draws of one character each would hit it otherwise.
func TestRandomNeverStartsWithADash(t *testing.T) {
	for i := 0; i < 4096; i++ {
		s, err := Random(1 + i%8)
		if err != nil {
			t.Fatal(err)
		}
		if s[0] == '-' {
			t.Fatalf("Random gave %q", s)
		}
	}
}
