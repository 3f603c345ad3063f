package acme_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/labtest"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck)")
	}
	for path, data := range map[string]map[string]any{
		"acme/certbot.sh": {"CAFile": "/etc/collabstack/acme-ca.pem"},
		"acme/issue.sh": {"Name": "kopnik", "Webroot": acme.Webroot, "Server": site.LetsEncryptDirectory, "Email": "a@b.org",
			"CAFile": "", "Domains": []string{"b.org", "www.b.org"}, "Hook": "#!/bin/sh\ntrue"},
	} {
		text, err := script.Render(path, data)
		if err != nil {
			t.Fatal(err)
		}
		checkShell(t, path, text)
	}
	hook, err := acme.Hook(acme.Cert{Name: "kopnik", Dir: "/var/lib/collabstack/tls/kopnik", Service: "kopnik_nginx"})
	if err != nil {
		t.Fatal(err)
	}
	checkShell(t, "acme/deploy-hook.sh", hook)
}

func checkShell(t *testing.T, name, text string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("shellcheck", "-s", "sh", f).CombinedOutput(); err != nil {
		t.Errorf("shellcheck %s:\n%s", name, out)
	}
}

func TestDue(t *testing.T) {
	now := time.Now()
	self := &x509.Certificate{RawIssuer: []byte("a"), RawSubject: []byte("a"), DNSNames: []string{"x.org"}, NotAfter: now.Add(90 * 24 * time.Hour)}
	if got := acme.Due(self, []string{"x.org"}, now); got != "is self-signed" {
		t.Errorf("self-signed: %q", got)
	}
	c := &x509.Certificate{RawIssuer: []byte("ca"), RawSubject: []byte("x"), DNSNames: []string{"x.org"}, NotAfter: now.Add(90 * 24 * time.Hour)}
	if got := acme.Due(c, []string{"x.org"}, now); got != "" {
		t.Errorf("fresh: %q", got)
	}
	if got := acme.Due(c, []string{"x.org", "www.x.org"}, now); got != "does not cover www.x.org" {
		t.Errorf("missing name: %q", got)
	}
	if got := acme.Due(c, []string{"x.org"}, now.Add(70*24*time.Hour)); !strings.HasPrefix(got, "expires on") {
		t.Errorf("old: %q", got)
	}
}

func TestSelfSignedSiteHasNoSteps(t *testing.T) {
	s := &site.Site{TLS: site.TLS{Mode: site.TLSSelfSigned}}
	if st := acme.Steps(s, "m", acme.Cert{Name: "x", Domains: []string{"x.org"}}); len(st) != 0 {
		t.Fatalf("self-signed got %d steps", len(st))
	}
}

// TestIssueAndRenewWithPebble runs the real flow on a lab node against
// Pebble, Let's Encrypt's test ACME server (Debian's package), running on
// the same node: certbot from Debian, HTTP-01 answered from the webroot by
// a web server on port 80, the certificate installed by the deploy hook, a
// second run changing nothing, and a forced renewal installing a new
// certificate through the hook, as certbot.timer would.
func TestIssueAndRenewWithPebble(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	l := labtest.Start(t, 1, lab.ImageBase)
	node := l.Nodes[0]
	h := l.Dial(t, 0)
	run := func(cmd string) string {
		t.Helper()
		out, err := h.Run(ctx, cmd, host.RunOpts{})
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return out
	}
	const domain = "www.collabstack.test"
	caPEM, certPEM, keyPEM := pebbleTLS(t)
	for path, data := range map[string][]byte{"/etc/pebble/cert.pem": certPEM, "/etc/pebble/key.pem": keyPEM,
		"/etc/pebble/config.json": []byte(`{"pebble": {"listenAddress": "0.0.0.0:14000", "managementListenAddress": "127.0.0.1:15000",
  "certificate": "/etc/pebble/cert.pem", "privateKey": "/etc/pebble/key.pem", "httpPort": 80, "tlsPort": 443,
  "ocspResponderURL": "", "externalAccountBindingRequired": false}}`)} {
		if err := h.Upload(ctx, path, data, 0o644, "root"); err != nil {
			t.Fatal(err)
		}
	}
	run("echo '" + node.Address + " " + domain + "' >> /etc/hosts")
	run("DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pebble >/dev/null")
	run("systemd-run --unit pebble -E PEBBLE_VA_NOSLEEP=1 -E PEBBLE_WFE_NONCEREJECT=0 /usr/bin/pebble -config /etc/pebble/config.json")
	// The edge nginx serves the webroot in real sites; any web server does.
	run("mkdir -p " + acme.Webroot + " && systemd-run --unit web python3 -m http.server 80 --directory " + acme.Webroot)

	caFile := filepath.Join(t.TempDir(), "pebble-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &site.Site{Version: 1, Topology: site.TopologyKopnik, Domain: domain, AdminEmail: "admin@collabstack.test",
		TLS: site.TLS{Mode: site.TLSLetsEncrypt, ACMEServer: "https://localhost:14000/dir", ACMECA: caFile}}
	cert := acme.Cert{Name: "edge", Domains: []string{domain}, Dir: "/var/lib/collabstack/tls/edge", Service: "edge_nginx"}
	store, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	apply := func(name string) engine.Summary {
		inv := engine.NewInventory(func(context.Context, host.Spec, *engine.Inventory) (host.Host, error) { return h, nil }, l.Spec(0))
		plan := engine.NewPlan()
		plan.MustAdd(acme.Steps(s, node.Name, cert)...)
		sum, err := (&engine.Runner{Plan: plan, Hosts: inv, Secrets: store, Emit: func(e engine.Event) {
			if e.Line != "" {
				t.Logf("%s: %s", e.Step, e.Line)
			}
			if e.Kind == engine.StepFailed {
				t.Logf("%s failed: %v (%s)", e.Step, e.Err, e.Hint)
			}
		}}).Run(ctx)
		if err != nil {
			t.Fatalf("%s run: %v", name, err)
		}
		t.Logf("%s run: %+v", name, sum)
		return sum
	}
	if sum := apply("first"); sum.Changed != 2 {
		t.Errorf("first run changed %d steps, want 2", sum.Changed)
	}
	first := readCert(t, ctx, h, cert.Dir+"/fullchain.pem")
	if !strings.Contains(first.Issuer.CommonName, "Pebble") || first.VerifyHostname(domain) != nil {
		t.Fatalf("installed certificate: issuer %q, names %v", first.Issuer.CommonName, first.DNSNames)
	}
	if sum := apply("second"); sum.Changed != 0 {
		t.Errorf("second run changed %d steps, want none", sum.Changed)
	}
	if got := run("systemctl is-enabled certbot.timer"); strings.TrimSpace(got) != "enabled" {
		t.Errorf("certbot.timer is %q", got)
	}
	if got := run("stat -c %a " + cert.Dir + "/privkey.pem"); strings.TrimSpace(got) != "600" {
		t.Errorf("privkey.pem mode %q", got)
	}
	// What certbot.timer runs, forced: the hook installs the new one. The
	// CA drop-in is what lets the timer's certbot trust the private CA.
	env := strings.TrimPrefix(strings.TrimSpace(run("grep Environment= /etc/systemd/system/certbot.service.d/collabstack-ca.conf")), "Environment=")
	out := run(env + " certbot renew --force-renewal --non-interactive 2>&1")
	if !strings.Contains(out, "installed the certificate edge") {
		t.Errorf("renewal did not run the deploy hook:\n%s", out)
	}
	second := readCert(t, ctx, h, cert.Dir+"/fullchain.pem")
	if second.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("after renewal the installed certificate is still the first one")
	}
}

func readCert(t *testing.T, ctx context.Context, h host.Host, path string) *x509.Certificate {
	t.Helper()
	data, err := h.ReadFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pebbleTLS makes a throwaway CA and the HTTPS certificate of Pebble's
// own listener (for localhost).
func pebbleTLS(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "collabstack test ACME CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kDER})
}
