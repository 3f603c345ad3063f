package ssh

import (
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/host"
)

// Redial proves a new connection gets through (a real sshd on loopback):
// the command after it runs on a new TCP connection, and while sshd is
// stopped Redial fails without dropping the connection in use.
func TestRedialOpensANewConnection(t *testing.T) {
	s := sshtest.Start(t)
	h := dial(t, s.Spec("box"), testOptions(t))
	ctx := testCtx(t)
	port := func() string {
		out, err := h.Run(ctx, `echo "$SSH_CONNECTION" | cut -d' ' -f2`, host.RunOpts{})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(out)
	}
	before := port()
	if err := h.Redial(ctx); err != nil {
		t.Fatal(err)
	}
	if after := port(); after == before || h.Connections() != 2 {
		t.Fatalf("client port %s before and %s after Redial, %d connections: not a new connection", before, after, h.Connections())
	}
	s.Stop()
	if err := h.Redial(ctx); err == nil {
		t.Fatal("Redial succeeded with sshd stopped")
	}
	if err := s.Resume(); err != nil {
		t.Fatal(err)
	}
	if h.Connections() != 2 {
		t.Errorf("a failed Redial replaced the connection (%d connections)", h.Connections())
	}
}
