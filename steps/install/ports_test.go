package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The end of an apply lists each chosen app's ports that are not the
// web, at the name clients use, from the site model.
func TestPortNotesOfChosenApps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	os.WriteFile(path, []byte(`version: 1
topology: kopnik
domain: x.test
admin_email: a@x.test
tls: {mode: self-signed}
hosts:
  - {name: m, address: 10.0.0.2, role: manager, auth: {method: agent}}
components:
  forgejo: {}
  james: {}
  freeradius: {}
`), 0o600)
	sess, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	notes := strings.Join(sess.PortNotes(), "\n")
	for _, want := range []string{
		"Forgejo: Git over SSH at git.x.test:2223/tcp (public, through the edge's stream proxy)",
		"at mail.x.test:25/tcp (public, published on the edge's node)",
		"RADIUS authentication at x.test:1812/udp (LAN, VPN and admin networks only",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("no %q in the port notes:\n%s", want, notes)
		}
	}
}
