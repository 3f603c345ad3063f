package pki_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// caKey reads the CA's key back from the store, to forge what Issue
// refuses to sign: a leaf outside the CA's names, as a thief of the key
// would.
func caKey(t *testing.T, store *secrets.Store) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	c, _ := store.Get(pki.CACertSecret)
	k, _ := store.Get(pki.CAKeySecret)
	cb, _ := pem.Decode([]byte(c))
	kb, _ := pem.Decode([]byte(k))
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func forge(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, dns []string, ips []net.IP) ([]byte, []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "forged"}, DNSNames: dns, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func verify(t *testing.T, caPEM, leafPEM []byte, name string) error {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	b, _ := pem.Decode(leafPEM)
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	_, err = leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: name})
	return err
}

// TestCAIsNameConstrained: Go's own verification (as every Go client,
// docker among them, does it) refuses a leaf the site's CA signed for a
// name outside the site's domain or an address outside its networks,
// even one forged with the CA's key; the constraint is critical; the CA
// lives less than 10 years and no leaf outlives it.
func TestCAIsNameConstrained(t *testing.T) {
	store := mustStore(t)
	ca, err := pki.Load(store, "kopnik", scope)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.Constrained() {
		t.Fatal("a new CA has no name constraints")
	}
	cert, key := caKey(t, store)
	if got := cert.NotAfter.Sub(cert.NotBefore); got >= 10*365*24*time.Hour {
		t.Errorf("the CA lives %v", got)
	}
	critical := false
	for _, e := range cert.Extensions {
		if e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 30}) {
			critical = e.Critical
		}
	}
	if !critical {
		t.Error("the name constraints extension is missing or not critical")
	}
	// In scope: issued, and verifies.
	leaf, _, err := ca.Issue("registry.kopnik.lan", "10.0.0.2", "*.kopnik.lan")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"registry.kopnik.lan", "10.0.0.2", "x.kopnik.lan"} {
		if err := verify(t, ca.CertPEM(), leaf, n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
	if lb, _ := pem.Decode(leaf); lb != nil {
		l, _ := x509.ParseCertificate(lb.Bytes)
		if l.NotAfter.After(cert.NotAfter) {
			t.Error("a leaf outlives its CA")
		}
	}
	// Out of scope: Issue refuses, and a forged leaf does not verify.
	for _, n := range []string{"www.example.org", "kopnik.lan.evil.test", "10.0.1.2", "8.8.8.8"} {
		if _, _, err := ca.Issue(n); err == nil || !strings.Contains(err.Error(), "ca rotate") {
			t.Errorf("Issue(%s) = %v, want a refusal naming `collabstack ca rotate`", n, err)
		}
	}
	f, _ := forge(t, cert, key, []string{"www.example.org"}, nil)
	if err := verify(t, ca.CertPEM(), f, "www.example.org"); err == nil {
		t.Error("a leaf for www.example.org verifies against the site's CA")
	} else if _, ok := err.(x509.CertificateInvalidError); !ok {
		t.Errorf("unexpected error %T %v", err, err)
	}
	f, _ = forge(t, cert, key, nil, []net.IP{net.ParseIP("8.8.8.8")})
	if err := verify(t, ca.CertPEM(), f, "8.8.8.8"); err == nil {
		t.Error("a leaf for 8.8.8.8 verifies against the site's CA")
	}
	// A leaf naming one good and one bad name fails as a whole.
	f, _ = forge(t, cert, key, []string{"a.kopnik.lan", "bank.example"}, nil)
	if err := verify(t, ca.CertPEM(), f, "a.kopnik.lan"); err == nil {
		t.Error("a leaf with a name outside the domain verifies")
	}
	if ca.Valid(f, "a.kopnik.lan") {
		t.Error("Valid accepts a leaf outside the CA's constraints")
	}
}

// TestExistingUnconstrainedCAStays: a CA made before constraints is
// kept by Load (no surprise re-import for users), until Rotate replaces
// it; the old leaves are then no longer Valid, so apply re-issues them.
func TestExistingUnconstrainedCAStays(t *testing.T) {
	store := mustStore(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "old CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kb, _ := x509.MarshalECPrivateKey(key)
	oldPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	store.Set(pki.CACertSecret, string(oldPEM))
	store.Set(pki.CAKeySecret, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))

	ca, err := pki.Load(store, "kopnik", scope)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca.CertPEM(), oldPEM) || ca.Constrained() {
		t.Fatal("Load replaced an existing CA")
	}
	leaf, _, err := ca.Issue("registry.kopnik.lan")
	if err != nil || !ca.Valid(leaf, "registry.kopnik.lan") {
		t.Fatalf("the old CA no longer issues: %v", err)
	}
	rotated, err := pki.Rotate(store, "kopnik", scope)
	if err != nil {
		t.Fatal(err)
	}
	if !rotated.Constrained() || bytes.Equal(rotated.CertPEM(), oldPEM) {
		t.Fatal("Rotate kept the old CA")
	}
	if prev, _ := store.Get(pki.PreviousCACertSecret); prev != string(oldPEM) {
		t.Error("the replaced CA's certificate is not kept")
	}
	again, _ := pki.Load(store, "kopnik", scope)
	if !bytes.Equal(again.CertPEM(), rotated.CertPEM()) {
		t.Error("Load does not return the rotated CA")
	}
	if again.Valid(leaf, "registry.kopnik.lan") {
		t.Error("a leaf of the replaced CA is still Valid: apply would not re-issue it")
	}
}

// TestCANearItsEndIsMadeAnew: a CA in its last months is replaced by
// Load (its leaves then re-issued) rather than left to expire.
func TestCANearItsEndIsMadeAnew(t *testing.T) {
	store := mustStore(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "old CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(pki.CARenewBefore / 2), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	kb, _ := x509.MarshalECPrivateKey(key)
	store.Set(pki.CACertSecret, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	store.Set(pki.CAKeySecret, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	ca, err := pki.Load(store, "kopnik", scope)
	if err != nil {
		t.Fatal(err)
	}
	if time.Until(ca.NotAfter()) < pki.CAValidity-24*time.Hour || !ca.Constrained() {
		t.Errorf("a CA near its end was kept (ends %v)", ca.NotAfter())
	}
}

func TestScopeOfSite(t *testing.T) {
	s := &site.Site{Topology: site.TopologySingle, Domain: "Example.org", Network: &site.Network{LAN: "10.10.0.0/24", VPN: "10.20.0.0/24"},
		Hosts: []site.Host{{Name: "pve", Address: "203.0.113.5"}, {Name: "b", Address: "10.10.0.7"}, {Name: "c", Address: "srv1.hoster.net"}, {Name: "d", Address: "git.example.org"}}}
	sc := pki.ScopeOf(s)
	want := "example.org, srv1.hoster.net, 10.10.0.0/24, 10.20.0.0/24, 203.0.113.5/32"
	if sc.String() != want {
		t.Errorf("scope %s, want %s", sc, want)
	}
	for n, in := range map[string]bool{"cloud.example.org": true, "*.example.org": true, "203.0.113.5": true, "203.0.113.6": false, "10.10.0.99": true, "example.com": false, "srv1.hoster.net": true, "srv2.hoster.net": false} {
		if sc.Covers(n) != in {
			t.Errorf("Covers(%s) = %v", n, !in)
		}
	}
	lab := pki.ScopeOf(&site.Site{Topology: site.TopologyLab, Domain: "lab.test", Lab: &site.Lab{}})
	if !lab.Covers("172.18.0.2") || !lab.Covers("192.168.5.1") || lab.Covers("8.8.8.8") {
		t.Errorf("a lab without a fixed subnet: %s", lab)
	}
	fixed := pki.ScopeOf(&site.Site{Topology: site.TopologyLab, Domain: "lab.test", Lab: &site.Lab{Subnet: "10.213.77.0/24"}})
	if fixed.String() != "lab.test, 10.213.77.0/24" {
		t.Errorf("a lab with a subnet: %s", fixed)
	}
}

// TestNginxAndCurlAcceptTheLeaves: real nginx (Debian's) serves a leaf
// the constrained CA issued, and real curl (OpenSSL) trusting only the
// site's CA accepts it by name and by address; a leaf forged with the
// CA's key for a name outside the domain is refused by curl (OpenSSL
// enforces the constraint too).
func TestNginxAndCurlAcceptTheLeaves(t *testing.T) {
	testtools.NeedCommand(t, "nginx", "apt-get install nginx-light (scripts/test does)")
	testtools.NeedCommand(t, "curl", "apt-get install curl")
	store := mustStore(t)
	ca, err := pki.Load(store, "kopnik", scope)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), 0o644)
	good, goodKey, err := ca.Issue("registry.kopnik.lan", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// An address alone, as the registry's certificate names the manager.
	byAddr, byAddrKey, err := ca.Issue("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, key := caKey(t, store)
	bad, badKey := forge(t, cert, key, []string{"www.example.org"}, nil)
	os.WriteFile(filepath.Join(dir, "good.pem"), good, 0o644)
	os.WriteFile(filepath.Join(dir, "good.key"), goodKey, 0o600)
	os.WriteFile(filepath.Join(dir, "addr.pem"), byAddr, 0o644)
	os.WriteFile(filepath.Join(dir, "addr.key"), byAddrKey, 0o600)
	os.WriteFile(filepath.Join(dir, "bad.pem"), bad, 0o644)
	os.WriteFile(filepath.Join(dir, "bad.key"), badKey, 0o600)
	goodPort, badPort, addrPort := freePort(t), freePort(t), freePort(t)
	conf := fmt.Sprintf(`pid %[1]s/nginx.pid;
error_log stderr;
daemon off;
master_process off;
events {}
http {
  access_log off;
  client_body_temp_path %[1]s; proxy_temp_path %[1]s; fastcgi_temp_path %[1]s; uwsgi_temp_path %[1]s; scgi_temp_path %[1]s;
  server { listen 127.0.0.1:%[2]d ssl; ssl_certificate %[1]s/good.pem; ssl_certificate_key %[1]s/good.key; location / { return 200 "good\n"; } }
  server { listen 127.0.0.1:%[3]d ssl; ssl_certificate %[1]s/bad.pem; ssl_certificate_key %[1]s/bad.key; location / { return 200 "bad\n"; } }
  server { listen 127.0.0.1:%[4]d ssl; ssl_certificate %[1]s/addr.pem; ssl_certificate_key %[1]s/addr.key; location / { return 200 "addr\n"; } }
}
`, dir, goodPort, badPort, addrPort)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	ng := exec.CommandContext(ctx, "nginx", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	var ngOut bytes.Buffer
	ng.Stdout, ng.Stderr = &ngOut, &ngOut
	ng.WaitDelay = 2 * time.Second
	if err := ng.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); ng.Wait() }()
	curl := func(args ...string) (string, error) {
		out, err := exec.Command("curl", append([]string{"-sS", "--max-time", "5", "--cacert", filepath.Join(dir, "ca.pem")}, args...)...).CombinedOutput()
		return string(out), err
	}
	var out string
	// Up to 30 s: nginx starts slowly on a loaded machine.
	for i := 0; i < 300; i++ {
		if out, err = curl("--resolve", fmt.Sprintf("registry.kopnik.lan:%d:127.0.0.1", goodPort), fmt.Sprintf("https://registry.kopnik.lan:%d/", goodPort)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || out != "good\n" {
		t.Fatalf("curl by name: %v %s\nnginx: %s", err, out, ngOut.String())
	}
	if out, err := curl(fmt.Sprintf("https://127.0.0.1:%d/", goodPort)); err != nil || out != "good\n" {
		t.Errorf("curl by address: %v %s", err, out)
	}
	if out, err := curl(fmt.Sprintf("https://127.0.0.1:%d/", addrPort)); err != nil || out != "addr\n" {
		t.Errorf("curl to a leaf for an address alone: %v %s", err, out)
	}
	out, err = curl("--resolve", fmt.Sprintf("www.example.org:%d:127.0.0.1", badPort), fmt.Sprintf("https://www.example.org:%d/", badPort))
	var ee *exec.ExitError
	switch {
	case err == nil:
		t.Errorf("curl accepted a leaf for www.example.org from the site's CA: %s", out)
	case errors.As(err, &ee) && ee.ExitCode() == 60:
		// 60: the peer's certificate could not be verified, the answer
		// of a name constraint; a dead nginx would be 7 or 35.
		t.Logf("curl refuses the forged leaf: %s", strings.TrimSpace(out))
	default:
		t.Errorf("curl failed on the forged leaf for another reason than its certificate (%v): %s\nnginx: %s", err, out, ngOut.String())
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
