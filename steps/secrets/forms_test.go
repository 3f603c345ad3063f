package secrets

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// Every derived form of a secret is redacted: hex, URL-encoded, base64 of
// the secret alone and inside "user:password" blobs at every alignment
// (a registry auth, an HTTP Basic header), in both alphabets; swarm join
// tokens by their shape, before they are stored.
func TestRedactorCoversDerivedForms(t *testing.T) {
	s, _ := Open(filepath.Join(t.TempDir(), "s.yaml"))
	pw, _ := Random(32)
	s.Set("pw", pw)
	s.Set("odd", "p@ss w/rd+€")
	r := NewRedactor(s)
	texts := []string{
		pw,
		hex.EncodeToString([]byte(pw)),
		strings.ToUpper(hex.EncodeToString([]byte(pw))),
		url.QueryEscape("p@ss w/rd+€"),
		url.PathEscape("p@ss w/rd+€"),
		`{"auths":{"registry.lab:5000":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("admin:"+pw)) + `"}}}`,
		"Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("ab:"+pw)),
		base64.URLEncoding.EncodeToString([]byte("a:" + pw + "\n")),
		base64.RawStdEncoding.EncodeToString([]byte(pw)),
		"docker swarm join --token SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx 10.0.0.2:2377",
	}
	for _, text := range texts {
		got := r.Redact(text)
		if !strings.Contains(got, "[redacted]") {
			t.Errorf("nothing redacted in %q", text)
		}
		for _, f := range append(Forms(pw), "SWMTKN-1-3pu6", "p@ss w/rd") {
			if len(f) >= 12 && strings.Contains(got, f[:12]) && f != "SWMTKN-1-3pu6" {
				t.Errorf("a form of the secret survives in %q", got)
			}
		}
		if strings.Contains(got, "3pu6hszjas19") {
			t.Errorf("the swarm token survives in %q", got)
		}
	}
	if got := r.Redact("nothing secret here: ordinary words"); got != "nothing secret here: ordinary words" {
		t.Errorf("ordinary text changed: %q", got)
	}
}

func BenchmarkRedact(b *testing.B) {
	s, _ := Open(filepath.Join(b.TempDir(), "s.yaml"))
	for i := 0; i < 100; i++ {
		v, _ := Random(32)
		s.Set(strings.Repeat("k", i+1), v)
	}
	r := NewRedactor(s)
	line := strings.Repeat("an ordinary line of apt output ", 4)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Redact(line)
	}
}
