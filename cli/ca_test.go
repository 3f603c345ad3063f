package cli

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/examples"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/secrets"
)

// `ca rotate` on a site that has never been applied (its state folder
// holds only the secrets file) makes a CA constrained to the site's
// domain and writes it where it says; a second rotation keeps the first
// CA as the previous one and hands out another key.
func TestCARotateMakesAConstrainedCAAndKeepsThePrevious(t *testing.T) {
	withKey(t)
	dir := t.TempDir()
	data, _ := examples.Site("kopnik")
	p := filepath.Join(dir, "kopnik.yaml")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "a-standby-password\n", "secret", "set", "standby-password", "--config", p); code != ExitOK {
		t.Fatalf("secret set: %d %q %q", code, out, errs)
	}
	pemFile := filepath.Join(dir, "kopnik.state", "site-ca.pem")
	readCA := func() *x509.Certificate {
		t.Helper()
		b, err := os.ReadFile(pemFile)
		if err != nil {
			t.Fatalf("the CA file: %v", err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s is not PEM", pemFile)
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	code, out, errs := run(t, "", "ca", "rotate", "--config", p)
	if code != ExitOK || !strings.Contains(out, pemFile) {
		t.Fatalf("ca rotate: %d %q %q", code, out, errs)
	}
	first := readCA()
	if !first.IsCA || !slices.Contains(first.PermittedDNSDomains, "kopnik.example.org") {
		t.Errorf("the CA is not constrained to the site's domain: %v", first.PermittedDNSDomains)
	}
	if code, out, errs := run(t, "", "ca", "rotate", "--config", p); code != ExitOK {
		t.Fatalf("second ca rotate: %d %q %q", code, out, errs)
	}
	second := readCA()
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("the second rotation kept the same CA")
	}
	store, err := secrets.Open(filepath.Join(dir, "kopnik.state", "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := store.Get(pki.PreviousCACertSecret)
	blk, _ := pem.Decode([]byte(prev))
	if blk == nil {
		t.Fatal("no previous CA in the secrets file")
	}
	if c, err := x509.ParseCertificate(blk.Bytes); err != nil || c.SerialNumber.Cmp(first.SerialNumber) != 0 {
		t.Errorf("the previous CA is not the first one: %v", err)
	}
	if strings.Contains(out+errs, "PRIVATE KEY") {
		t.Error("the CA's key was printed")
	}
}
