package ssh

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/host"
)

func newKey(t *testing.T) gossh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A known_hosts file as earlier versions wrote it is read as it is, and
// rewritten with its lines unchanged when a new host is pinned. A
// changed key is a mismatch that steps see as host.ErrHostKeyChanged
// without importing this package.
func TestKnownHostsFileOfEarlierVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "known_hosts")
	a, b := newKey(t), newKey(t)
	old := "# Host keys pinned by collabstack: name address:port key-type key.\n" +
		"# Remove a host's line after reinstalling it; it is pinned again on the next connection.\n" +
		"manager 10.0.0.2:22 ssh-ed25519 " + base64.StdEncoding.EncodeToString(a.Marshal()) + "\n"
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	kh, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if keys := kh.Lookup("manager", "10.0.0.2:22"); len(keys) != 1 || gossh.FingerprintSHA256(keys[0]) != gossh.FingerprintSHA256(a) {
		t.Fatalf("Lookup = %v", keys)
	}
	if err := kh.check("manager", "10.0.0.2:22", a, trust{}); err != nil {
		t.Fatalf("the pinned key was refused: %v", err)
	}
	if err := kh.check("worker", "10.0.0.3:22", b, trust{acceptNew: true}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	want := old + "worker 10.0.0.3:22 ssh-ed25519 " + base64.StdEncoding.EncodeToString(b.Marshal()) + "\n"
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}

	err = kh.check("manager", "10.0.0.2:22", b, trust{acceptNew: true})
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) || !errors.Is(err, host.ErrHostKeyChanged) {
		t.Fatalf("a changed key gave %v", err)
	}
	if mm.Want != gossh.FingerprintSHA256(a) || mm.Got != gossh.FingerprintSHA256(b) || mm.File != path {
		t.Errorf("mismatch %+v", mm)
	}
	for _, w := range []string{"has changed", "remove the line starting with \"manager 10.0.0.2:22\"", path} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	// The site file's host_key, when it differs, is the same kind of error.
	fromSite := kh.check("new", "10.0.0.4:22", a, trust{expected: gossh.FingerprintSHA256(b)})
	if !errors.Is(fromSite, host.ErrHostKeyChanged) {
		t.Errorf("a key other than host_key gave %v", fromSite)
	}
	if data2, _ := os.ReadFile(path); string(data2) != want {
		t.Errorf("a refused key changed the file:\n%s", data2)
	}

	// A line with a key type that does not match its key is refused.
	bad := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(bad, []byte("h 10.0.0.9:22 ssh-rsa "+base64.StdEncoding.EncodeToString(a.Marshal())+"\n"), 0o600)
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "key type ssh-rsa does not match key ssh-ed25519") {
		t.Errorf("a mismatched key type: %v", err)
	}
}
