package ssh

import (
	"testing"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/host"
)

// TestRoundTrips counts what a benchmark reports per host: every
// command, upload and read, failed ones too.
func TestRoundTrips(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	ctx := testCtx(t)
	start := h.RoundTrips()
	h.Run(ctx, "true", host.RunOpts{})
	h.Run(ctx, "exit 3", host.RunOpts{})
	p := t.TempDir() + "/f"
	if err := h.Upload(ctx, p, []byte("x"), 0o600, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ReadFile(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := h.RoundTrips() - start; got != 4 {
		t.Errorf("RoundTrips counted %d, want 4", got)
	}
}
