package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The end of an apply names each chosen app's admin account and where its
// password is, never the password.
func TestAdminNotesAndURLsOfChosenApps(t *testing.T) {
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
  etherpad: {}
`), 0o600)
	sess, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	notes := strings.Join(sess.AdminNotes(), "\n")
	if !strings.Contains(notes, "Etherpad") || !strings.Contains(notes, "etherpad-admin-password") {
		t.Errorf("admin notes: %q", notes)
	}
	if v, ok := sess.Secrets.Get("etherpad-admin-password"); ok && strings.Contains(notes, v) {
		t.Error("a password is in the notes")
	}
	urls := strings.Join(sess.URLs(), " ")
	if !strings.Contains(urls, "https://pad.x.test/") {
		t.Errorf("urls: %q", urls)
	}
}
