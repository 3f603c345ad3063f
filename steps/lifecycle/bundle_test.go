package lifecycle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/secrets"
)

// ReadBundle returns the files of a bundle archive by their name inside
// its folder.
func readBundle(t *testing.T, data []byte) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		_, name, _ := strings.Cut(h.Name, "/")
		out[name] = string(b)
	}
}

// Every file of a bundle passes the redactor: no secret of the store, in
// any of the forms it travels in, is in the archive.
func TestBundleHoldsNoSecret(t *testing.T) {
	store, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := store.Password("postgres-admin-password", 32)
	tok, _ := store.Password("registry-password", 24)
	red := secrets.NewRedactor(store)
	b := NewBundle(red.Redact, time.Unix(0, 0))
	planted := []string{
		"password=" + pw,
		"hex " + hex.EncodeToString([]byte(pw)),
		"url " + url.QueryEscape(tok),
		"basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+tok)),
		"json {\"auth\":\"" + base64.StdEncoding.EncodeToString([]byte("collabstack:"+pw)) + "\"}",
	}
	b.Add("journal.jsonl", []byte(strings.Join(planted, "\n")))
	b.Add("site.yaml", ScrubSite([]byte("version: 1\n# old: "+pw+"\ncomponents:\n  x: {options: {admin_password: hunter2hunter2}}\nhosts: [{name: a, auth: {method: password, password_ref: host-a}}]\n")))
	b.Addf("logs/etherpad.txt", "line with %s inside", tok)
	var buf bytes.Buffer
	if err := b.WriteTo(&buf, "bundle"); err != nil {
		t.Fatal(err)
	}
	files := readBundle(t, buf.Bytes())
	if len(files) != 3 {
		t.Fatalf("files: %v", files)
	}
	raw := string(buf.Bytes())
	for name, text := range files {
		for _, s := range []string{pw, tok} {
			for _, f := range secrets.Forms(s) {
				if strings.Contains(text, f) {
					t.Errorf("%s holds a form of a secret: %q", name, f)
				}
			}
		}
		if strings.Contains(text, "hunter2hunter2") {
			t.Errorf("%s holds a value under a secret-like key", name)
		}
	}
	if strings.Contains(raw, pw) {
		t.Error("the archive holds a secret")
	}
	if !strings.Contains(files["site.yaml"], "password_ref: host-a") || !strings.Contains(files["site.yaml"], "admin_password: '[removed]'") {
		t.Errorf("site.yaml:\n%s", files["site.yaml"])
	}
	if !strings.Contains(files["journal.jsonl"], "[redacted]") {
		t.Errorf("journal:\n%s", files["journal.jsonl"])
	}
}
