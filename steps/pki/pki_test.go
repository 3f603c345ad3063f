package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/secrets"
)

func TestCAIsMadeOnceAndSigns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.yaml")
	store, err := secrets.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.Load(store, "kopnik", scope)
	if err != nil {
		t.Fatal(err)
	}
	store2, _ := secrets.Open(path)
	again, err := pki.Load(store2, "kopnik", scope)
	if err != nil || string(again.CertPEM()) != string(ca.CertPEM()) {
		t.Fatalf("a second load made another CA (%v)", err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("secrets file mode %v", fi.Mode().Perm())
	}
	cert, key, err := ca.Issue("10.0.0.2", "registry.kopnik.lan")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		t.Fatal(err)
	}
	if !ca.Valid(cert, "10.0.0.2", "registry.kopnik.lan") || ca.Valid(cert, "10.0.0.3") {
		t.Error("Valid does not follow the certificate's names")
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.CertPEM())
	pair, _ := tls.X509KeyPair(cert, key)
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: "registry.kopnik.lan"}); err != nil {
		t.Errorf("the issued certificate does not verify against the CA: %v", err)
	}
	other, _ := pki.Load(mustStore(t), "other", scope)
	if other.Valid(cert, "10.0.0.2") {
		t.Error("another CA accepts this CA's certificate")
	}
}

var scope = pki.Scope{Domains: []string{"kopnik.lan"}, Ranges: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24"), netip.MustParsePrefix("127.0.0.0/8")}}

func mustStore(t *testing.T) *secrets.Store {
	s, err := secrets.Open(filepath.Join(t.TempDir(), "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
