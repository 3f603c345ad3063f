// Package pki is the site's own certificate authority: made once with
// crypto/rand, kept in the secrets file, it signs the certificates of
// what has no public name (the registry on the LAN, a lab's edge). Hosts
// and browsers trust the site's CA once instead of every certificate.
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
	CAValidity   = 10 * 365 * 24 * time.Hour
	CertValidity = 2 * 365 * 24 * time.Hour
	// RenewBefore: a certificate closer to its end than this is made anew.
	RenewBefore = 30 * 24 * time.Hour
)

// Authority is the site's CA.
type Authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

// Load returns the site's CA from the secrets file, making it there the
// first time.
func Load(store *secrets.Store, site string) (*Authority, error) {
	if store == nil {
		return nil, errors.New("no secrets store to keep the site's CA in")
	}
	certPEM, okC := store.Get(CACertSecret)
	keyPEM, okK := store.Get(CAKeySecret)
	if okC && okK {
		return parse([]byte(certPEM), []byte(keyPEM))
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
	if err := store.Set(CAKeySecret, string(kp)); err != nil {
		return nil, err
	}
	if err := store.Set(CACertSecret, string(cp)); err != nil {
		return nil, err
	}
	return parse(cp, kp)
}

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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(CertValidity),
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

// Valid reports whether certPEM is signed by this CA, covers every name
// and is not due for renewal.
func (a *Authority) Valid(certPEM []byte, names ...string) bool {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return false
	}
	c, err := x509.ParseCertificate(b.Bytes)
	return err == nil && c.CheckSignatureFrom(a.cert) == nil && Covers(certPEM, names...)
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
