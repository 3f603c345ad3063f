package ssh_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/ssh"
)

// The wizard's "test connection": read the key without trusting it, show
// its fingerprint, pin what the user confirmed, then log in against that
// pin only.
func TestScanConfirmPinLogin(t *testing.T) {
	srv := sshtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spec := srv.Spec("srv")
	key, err := ssh.ScanHostKey(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	known, err := ssh.Open(filepath.Join(t.TempDir(), "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := known.Pin(spec.Name, spec.Address, spec.Port, key); err != nil {
		t.Fatal(err)
	}
	h, err := ssh.Dial(ctx, spec, ssh.Options{KnownHosts: known})
	if err != nil {
		t.Fatal(err)
	}
	if h.Fingerprint() != gossh.FingerprintSHA256(key) {
		t.Errorf("logged in with %s, confirmed %s", h.Fingerprint(), gossh.FingerprintSHA256(key))
	}
	if out, err := h.Run(ctx, "echo ok", host.RunOpts{}); err != nil || out != "ok\n" {
		t.Errorf("run: %q %v", out, err)
	}
	h.Close()

	// The host is reinstalled: the confirmed pin refuses it.
	srv.RegenerateHostKey(t)
	_, err = ssh.Dial(ctx, spec, ssh.Options{KnownHosts: known})
	var mm *ssh.HostKeyMismatchError
	if !errors.As(err, &mm) {
		t.Fatalf("a changed key after confirmation: %v, want a HostKeyMismatchError", err)
	}
}
