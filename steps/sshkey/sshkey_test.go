package sshkey

import (
	"os"
	"path/filepath"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// EnsureKey makes one key and then keeps it; PublicOf reads it back.
func TestEnsureKeeps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "id_ed25519")
	a, err := Ensure(path, "c1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Ensure(path, "c1")
	if err != nil || a != b {
		t.Fatalf("second EnsureKey: %q %v; want %q", b, err, a)
	}
	k, _, _, _, err := gossh.ParseAuthorizedKey([]byte(a))
	if err != nil || k.Type() != gossh.KeyAlgoED25519 {
		t.Fatalf("public key %q: %v", a, err)
	}
	st, _ := os.Stat(filepath.Dir(path))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("key folder mode %v, want 0700", st.Mode().Perm())
	}
	p, err := PublicOf(path, "c1")
	if err != nil || p != a {
		t.Fatalf("PublicOf: %q %v; want %q", p, err, a)
	}
	os.Remove(path + ".pub")
	if p, err := PublicOf(path, "c1"); err != nil || p != a {
		t.Fatalf("PublicOf without .pub: %q %v; want %q", p, err, a)
	}
}
