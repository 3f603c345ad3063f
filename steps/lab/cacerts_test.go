package lab

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"
)

// TestNodeFilesCarryThisMachinesCAs: a node's first files include every
// extra CA certificate of this machine where update-ca-certificates
// looks. (The kopnik end-to-end test checks a booted node trusts them.)
func TestNodeFilesCarryThisMachinesCAs(t *testing.T) {
	dir := t.TempDir()
	if _, err := ensureKey(hostKeyPath(dir, "lab-1"), "root@lab-1"); err != nil {
		t.Fatal(err)
	}
	files, err := nodeFiles(dir, "lab-1", "ssh-ed25519 AAAA test")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(files))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		got[h.Name] = string(data)
	}
	cas := extraCAs()
	if len(cas) == 0 {
		t.Logf("this machine has no extra CA certificates in %s; only the absence of others is checked", ExtraCADir)
	}
	for name, pem := range cas {
		p := filepath.Join(strings.TrimPrefix(ExtraCADir, "/"), name)
		if got[p] != string(pem) {
			t.Errorf("the node's files lack %s", p)
		}
	}
	for name := range got {
		if strings.HasPrefix(name, "usr/local/share/ca-certificates/") && strings.HasSuffix(name, ".crt") {
			if _, ok := cas[strings.TrimPrefix(name, "usr/local/share/ca-certificates/")]; !ok {
				t.Errorf("the node gets a CA this machine does not have: %s", name)
			}
		}
	}
}
