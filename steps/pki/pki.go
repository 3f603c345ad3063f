// Package pki is the site's own certificate authority: made once with
// crypto/rand, kept in the secrets file, it signs the certificates of
// what has no public name (the registry on the LAN, a lab's edge). Hosts
// and browsers trust the site's CA once instead of every certificate.
//
// The CA is name-constrained (RFC 5280 4.2.1.10, critical) to the site's
// domain and the site's own address ranges (its Scope): a browser that
// trusts it trusts it for the site only, so its key, if stolen, cannot
// impersonate any other name. A CA made before constraints existed stays
// until `collabstack ca rotate` replaces it (hosts and browsers must then
// trust the new one); apply only warns.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/secrets"
)

// Secret names of the CA in the secrets file.
const (
	CACertSecret = "site-ca-cert"
	CAKeySecret  = "site-ca-key"
)

// Validity of what the CA makes.
const (
	// CAValidity is five years: long enough that users rarely re-import
	// it, short enough that a forgotten CA dies. Leaves never outlive it
	// (Issue clamps them), and a CA in its last CARenewBefore is made anew
	// by Load, after which every leaf is re-issued (Valid checks the
	// signer), so the site keeps working; users then trust the new one.
	CAValidity    = 5 * 365 * 24 * time.Hour
	CARenewBefore = 90 * 24 * time.Hour
	CertValidity  = 2 * 365 * 24 * time.Hour
	// RenewBefore: a certificate closer to its end than this is made anew.
	RenewBefore = 30 * 24 * time.Hour
	// PreviousCACertSecret keeps the certificate of the CA a rotation
	// replaced, for the record (its key is dropped).
	PreviousCACertSecret = "site-ca-cert-previous"
)

// Scope is what the site's CA may sign for: names under Domains (each
// domain and its subdomains) and addresses in Ranges.
type Scope struct {
	Domains []string
	Ranges  []netip.Prefix
}

// Covers reports whether name (a DNS name or an IP address) is inside
// the scope.
func (sc Scope) Covers(name string) bool {
	if a, err := netip.ParseAddr(name); err == nil {
		a = a.Unmap()
		for _, r := range sc.Ranges {
			if r.Contains(a) {
				return true
			}
		}
		return false
	}
	n := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(name, "*."), "."))
	for _, d := range sc.Domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if n == d || strings.HasSuffix(n, "."+d) {
			return true
		}
	}
	return false
}

func (sc Scope) String() string {
	var parts []string
	parts = append(parts, sc.Domains...)
	for _, r := range sc.Ranges {
		parts = append(parts, r.String())
	}
	return strings.Join(parts, ", ")
}

// Constrained reports whether the CA carries name constraints.
func (a *Authority) Constrained() bool {
	return len(a.cert.PermittedDNSDomains) > 0 || len(a.cert.PermittedIPRanges) > 0
}

// Scope is what the CA may sign for; empty for an unconstrained CA.
func (a *Authority) Scope() Scope {
	sc := Scope{Domains: slices.Clone(a.cert.PermittedDNSDomains)}
	for _, n := range a.cert.PermittedIPRanges {
		if p, ok := prefixOf(n); ok {
			sc.Ranges = append(sc.Ranges, p)
		}
	}
	return sc
}

// NotAfter is the end of the CA's validity.
func (a *Authority) NotAfter() time.Time { return a.cert.NotAfter }

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ones, _ := n.Mask.Size()
	if a.Is4In6() {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	p = p.Masked()
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Authority is the site's CA.
type Authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// Load returns the site's CA from the secrets file, making it there the
// first time, constrained to scope. A CA in its last CARenewBefore (or
// past its end) is made anew, the old certificate kept as
// PreviousCACertSecret. An existing CA is never replaced for its
// constraints: see Rotate.
func Load(store *secrets.Store, site string, scope Scope) (*Authority, error) {
	if store == nil {
		return nil, errors.New("no secrets store to keep the site's CA in")
	}
	certPEM, okC := store.Get(CACertSecret)
	keyPEM, okK := store.Get(CAKeySecret)
	if okC && okK && certPEM != "" && keyPEM != "" {
		a, err := parse([]byte(certPEM), []byte(keyPEM))
		if err != nil || time.Until(a.cert.NotAfter) > CARenewBefore {
			return a, err
		}
	}
	return Rotate(store, site, scope)
}

// Rotate makes a new CA for scope in the secrets file, replacing the one
// there (whose certificate is kept as PreviousCACertSecret). Every leaf
// the old CA signed is re-issued by the next apply; hosts and browsers
// must trust the new CA (the state directory's site-ca.pem).
func Rotate(store *secrets.Store, site string, scope Scope) (*Authority, error) {
	if len(scope.Domains) == 0 {
		return nil, errors.New("the site's CA needs the site's domain to be constrained to")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: site + " CA (collabstack)", Organization: []string{site}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(CAValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		// Go marks the extension critical when this is set.
		PermittedDNSDomainsCritical: true,
		PermittedDNSDomains:         slices.Clone(scope.Domains),
	}
	for _, r := range scope.Ranges {
		tmpl.PermittedIPRanges = append(tmpl.PermittedIPRanges, ipNet(r))
	}
	if len(tmpl.PermittedIPRanges) == 0 {
		// No permitted range would leave addresses unconstrained.
		tmpl.ExcludedIPRanges = []*net.IPNet{ipNet(netip.MustParsePrefix("0.0.0.0/0")), ipNet(netip.MustParsePrefix("::/0"))}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make the site's CA: %w", err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	cp := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	kp := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	if old, ok := store.Get(CACertSecret); ok && old != "" {
		if err := store.Set(PreviousCACertSecret, old); err != nil {
			return nil, err
		}
	}
	if err := store.Set(CAKeySecret, string(kp)); err != nil {
		return nil, err
	}
	if err := store.Set(CACertSecret, string(cp)); err != nil {
		return nil, err
	}
	return parse(cp, kp)
}

// Parse reads a CA from its certificate and key (PEM).
func Parse(certPEM, keyPEM []byte) (*Authority, error) { return parse(certPEM, keyPEM) }

func parse(certPEM, keyPEM []byte) (*Authority, error) {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, fmt.Errorf("the site's CA in the secrets file is not PEM: remove %s and %s to make a new one (hosts must then trust the new CA)", CACertSecret, CAKeySecret)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read the site's CA certificate: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read the site's CA key: %w", err)
	}
	return &Authority{cert: cert, key: key, certPEM: certPEM}, nil
}

// CertPEM is the CA certificate to trust.
func (a *Authority) CertPEM() []byte { return a.certPEM }

// Issue makes a server certificate for names (DNS names or IP addresses).
func (a *Authority) Issue(names ...string) (certPEM, keyPEM []byte, err error) {
	if len(names) == 0 {
		return nil, nil, errors.New("a certificate needs at least one name")
	}
	if a.Constrained() {
		sc := a.Scope()
		for _, n := range names {
			if !sc.Covers(n) {
				return nil, nil, fmt.Errorf("the site's CA may sign for %s only, not %s: after changing the site's domain or networks, run `collabstack ca rotate` (hosts and browsers must then trust the new CA)", sc, n)
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	end := time.Now().Add(CertValidity)
	if end.After(a.cert.NotAfter) {
		end = a.cert.NotAfter // a leaf never outlives its CA
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     end,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	// The common name is the first DNS name, never an address: OpenSSL
	// checks a leaf's common name against the CA's DNS name constraints
	// when the leaf has no DNS name, and an address such as 192.168.1.2
	// looks like a host name to it, so curl and docker refused a
	// registry certificate issued for the manager's address alone. With
	// no DNS name the subject stays empty (Go marks the SANs critical).
	if len(tmpl.DNSNames) > 0 {
		tmpl.Subject = pkix.Name{CommonName: tmpl.DNSNames[0]}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign a certificate for %v: %w", names, err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}

// Valid reports whether certPEM is signed by this CA (so a rotation
// re-issues every leaf), verifies against it with its constraints, covers
// every name and is not due for renewal.
func (a *Authority) Valid(certPEM []byte, names ...string) bool {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return false
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil || c.CheckSignatureFrom(a.cert) != nil {
		return false
	}
	if net.ParseIP(c.Subject.CommonName) != nil && a.Constrained() {
		return false // OpenSSL refuses it (see Issue): issue it again
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.cert)
	if _, err := c.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
		return false
	}
	return Covers(certPEM, names...)
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return n
}

// Covers reports whether certPEM (from any issuer) covers every name and
// is not due for renewal; a wildcard name is checked with a sample label.
func Covers(certPEM []byte, names ...string) bool {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return false
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil || time.Until(c.NotAfter) < RenewBefore {
		return false
	}
	for _, n := range names {
		if len(n) > 2 && n[:2] == "*." {
			n = "sample-label." + n[2:]
		}
		if c.VerifyHostname(n) != nil {
			return false
		}
	}
	return true
}

// SelfSigned makes a self-signed server certificate for names, for tests
// and for checking configurations that need any certificate.
func SelfSigned(names ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"collabstack self-signed"}},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
