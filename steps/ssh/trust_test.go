package ssh

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/sshtest"
)

// A strict first connection (a headless apply) is refused unless the spec
// gives the key's fingerprint, which must then match; a read-only store
// checks without pinning or writing its file. Against a real sshd.
func TestStrictHostKeys(t *testing.T) {
	s := sshtest.Start(t)
	path := filepath.Join(t.TempDir(), "state", "known_hosts")
	kh, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{KnownHosts: kh, StrictHostKeys: true}

	// No fingerprint: refused, naming the key offered and both fixes.
	_, err = Dial(testCtx(t), s.Spec("box"), opts)
	var unknown *HostKeyUnknownError
	if !errors.As(err, &unknown) {
		t.Fatalf("want *HostKeyUnknownError, got %T %v", err, err)
	}
	for _, want := range []string{"box", s.Fingerprint(t), "host_key:", "--accept-new-host-keys"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a refused key was written to known_hosts")
	}

	// A wrong fingerprint: a mismatch, exit code 4's error.
	spec := s.Spec("box")
	spec.HostKey = "SHA256:" + strings.Repeat("A", 43)
	_, err = Dial(testCtx(t), spec, opts)
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) || !mm.FromSite || !strings.Contains(err.Error(), "host_key") {
		t.Fatalf("want a mismatch with the site's host_key, got %T %v", err, err)
	}

	// Read-only with the right fingerprint: connects, pins nothing.
	ro, _ := Open(path)
	ro.ReadOnly()
	spec.HostKey = s.Fingerprint(t)
	dial(t, spec, Options{KnownHosts: ro, StrictHostKeys: true}).Close()
	if _, err := os.Stat(path); err == nil {
		t.Error("a read-only store wrote known_hosts")
	}

	// The right fingerprint: connects and pins.
	dial(t, spec, opts).Close()
	if len(kh.Lookup("box", s.Addr)) != 1 {
		t.Fatal("the verified key was not pinned")
	}
	// From then on the pin decides, fingerprint or not.
	dial(t, s.Spec("box"), opts).Close()

	// A machine this run made may be trusted on its first key.
	other, _ := Open("")
	made := s.Spec("vm")
	made.TrustFirstKey = true
	dial(t, made, Options{KnownHosts: other, StrictHostKeys: true}).Close()
}
