package apps

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
)

// TestTLSPairIsStableAndServes: the same secret gives the same PEM (a
// re-render changes nothing), another secret another key, and the pair
// completes a real TLS handshake for its name on loopback.
func TestTLSPairIsStableAndServes(t *testing.T) {
	c1, k1, err := tlsPair("seed-a", []string{"edumeet-media"})
	if err != nil {
		t.Fatal(err)
	}
	c2, k2, _ := tlsPair("seed-a", []string{"edumeet-media"})
	if c1 != c2 || k1 != k2 {
		t.Fatal("the same secret gave another pair")
	}
	_, k3, _ := tlsPair("seed-b", []string{"edumeet-media"})
	if k3 == k1 {
		t.Fatal("another secret gave the same key")
	}
	if _, k4, _ := tlsPair("seed-a", nil); k4 != k1 {
		t.Fatal("tlsKey and tlsCert disagree on the key")
	}
	pair, err := tls.X509KeyPair([]byte(c1), []byte(k1))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(c1))
	conn, err := tls.DialWithDialer(&net.Dialer{}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "edumeet-media"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	conn.Close()
}
