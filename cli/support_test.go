package cli

import (
	"archive/tar"
	"compress/gzip"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/journal"
	"github.com/collabstack/collabstack/steps/secrets"
)

// support-bundle on a site whose hosts do not run: the archive (0600) has
// the site file, the secrets' names, the journal, status --json and what
// could not be collected, and no secret of the site in any form, though
// the journal and a comment of the site file hold some.
func TestSupportBundleHoldsNoSecret(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	state := filepath.Join(dir, "site.state")
	store, err := secrets.Open(filepath.Join(state, "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := store.Password("redis-password", 32)
	if err := os.WriteFile(path, []byte(removeSite+"# the old redis password was "+pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(state, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	j.Append(journal.Record{Time: now, Run: "r1", Kind: journal.KindRunStart, Command: "apply"})
	j.Append(journal.Record{Time: now, Run: "r1", Kind: journal.KindStep, Step: "apps/redis/deploy", Component: "redis", Status: journal.StatusFailed,
		Error: "auth " + base64.StdEncoding.EncodeToString([]byte("default:"+pw)) + " refused, password " + pw})
	j.Append(journal.Record{Time: now, Run: "r1", Kind: journal.KindRunEnd, Status: journal.StatusFailed})
	j.Close()
	out := filepath.Join(dir, "bundle.tar.gz")
	code, stdout, errs := run(t, "", "support-bundle", "--config", path, "-o", out, "--timeout", "5s")
	if code != ExitOK {
		t.Fatalf("support-bundle: %d %s %s", code, stdout, errs)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the archive: %v %v", err, st)
	}
	f, _ := os.Open(out)
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	files := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name[strings.Index(h.Name, "/")+1:]] = string(b)
	}
	for _, want := range []string{"README.txt", "versions.txt", "site.yaml", "secrets.txt", "journal.jsonl", "status.json", "errors.txt"} {
		if _, ok := files[want]; !ok {
			t.Errorf("no %s in the bundle (%d files)", want, len(files))
		}
	}
	if !strings.Contains(files["secrets.txt"], "redis-password") || !strings.Contains(files["status.json"], `"healthy"`) {
		t.Errorf("secrets.txt %q / status.json %q", files["secrets.txt"], files["status.json"])
	}
	for name, text := range files {
		for _, form := range secrets.Forms(pw) {
			if strings.Contains(text, form) {
				t.Errorf("%s holds the secret (form %q)", name, form)
			}
		}
	}
}
