package ssh

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/sshkey"
)

// unvouched is the server's spec without its fingerprint: a host nothing
// vouches for.
func unvouched(s *sshtest.Server, name string) host.Spec {
	spec := s.Spec(name)
	spec.HostKey = ""
	return spec
}

// The zero Options are strict: a first connection is refused unless the
// spec gives the key's fingerprint, which must then match; a read-only
// store checks without pinning or writing its file. Against a real sshd.
func TestStrictHostKeys(t *testing.T) {
	s := sshtest.Start(t)
	path := filepath.Join(t.TempDir(), "state", "known_hosts")
	kh, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{KnownHosts: kh}

	// No fingerprint: refused, naming the key offered and both fixes.
	_, err = Dial(testCtx(t), unvouched(s, "box"), opts)
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
	// The zero Options of a caller that forgot KnownHosts are strict too.
	if _, err := Dial(testCtx(t), unvouched(s, "box"), Options{}); !errors.As(err, &unknown) {
		t.Fatalf("zero Options: want *HostKeyUnknownError, got %T %v", err, err)
	}

	// A wrong fingerprint: a mismatch, exit code 4's error.
	spec := unvouched(s, "box")
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
	dial(t, spec, Options{KnownHosts: ro}).Close()
	if _, err := os.Stat(path); err == nil {
		t.Error("a read-only store wrote known_hosts")
	}

	// The right fingerprint: connects and pins.
	dial(t, spec, opts).Close()
	if len(kh.Lookup("box", s.Addr)) != 1 {
		t.Fatal("the verified key was not pinned")
	}
	// From then on the pin decides, fingerprint or not.
	dial(t, unvouched(s, "box"), opts).Close()

	// Trust on first use only when asked for: for one host, or for all.
	other, _ := Open("")
	made := unvouched(s, "vm")
	made.TrustFirstKey = true
	dial(t, made, Options{KnownHosts: other}).Close()
	dial(t, unvouched(s, "asked"), Options{KnownHosts: other, AcceptNewHostKeys: true}).Close()
	if len(other.Lookup("asked", s.Addr)) != 1 {
		t.Error("--accept-new-host-keys did not pin the key")
	}
}

// A machine collabstack made anew carries the key collabstack gave it
// (HostKeyIssued): that key replaces the old machine's pin, while any other
// key, even the pinned one, is refused. A site's host_key never replaces a
// pin.
func TestIssuedHostKeyReplacesTheOldPin(t *testing.T) {
	s := sshtest.Start(t)
	kh, err := Open(filepath.Join(t.TempDir(), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	// The old machine's key, pinned under the name.
	oldKey := filepath.Join(t.TempDir(), "old")
	if _, err := sshkey.Ensure(oldKey, ""); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(oldKey + ".pub")
	old, _, _, _, err := gossh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := kh.Pin("vm", s.Host, s.Port, old); err != nil {
		t.Fatal(err)
	}

	// Without HostKeyIssued the pin decides: a changed key.
	_, err = Dial(testCtx(t), s.Spec("vm"), Options{KnownHosts: kh})
	var mm *HostKeyMismatchError
	if !errors.As(err, &mm) || mm.FromSite || mm.Issued || !errors.Is(err, host.ErrHostKeyChanged) {
		t.Fatalf("a site's fingerprint replaced a pin: %T %v", err, err)
	}

	// A key other than the issued one: refused, whatever is pinned.
	wrong := s.Spec("vm")
	wrong.HostKey, wrong.HostKeyIssued = gossh.FingerprintSHA256(old), true
	_, err = Dial(testCtx(t), wrong, Options{KnownHosts: kh})
	if !errors.As(err, &mm) || !mm.Issued || !errors.Is(err, host.ErrHostKeyChanged) || !strings.Contains(err.Error(), "collabstack gave it") {
		t.Fatalf("want a mismatch with the issued key, got %T %v", err, err)
	}

	// The issued key: connects and replaces the pin.
	made := s.Spec("vm")
	made.HostKeyIssued = true
	dial(t, made, Options{KnownHosts: kh}).Close()
	got := kh.Lookup("vm", s.Addr)
	if len(got) != 1 || gossh.FingerprintSHA256(got[0]) != s.Fingerprint(t) {
		t.Fatalf("pins after the issued key: %v", got)
	}
	// And from then on the new pin holds, with or without the spec's key.
	dial(t, unvouched(s, "vm"), Options{KnownHosts: kh}).Close()
}
