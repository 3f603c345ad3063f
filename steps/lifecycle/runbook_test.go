package lifecycle

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/site"
)

var update = flag.Bool("update", false, "rewrite the golden files of the runbook")

// TestRunbookGolden: the runbook of the fixture site (a kopnik site with
// a standby, apps beside kopnik, backups and admin networks) is the
// golden Markdown and HTML; run with -update after a deliberate change
// and read the diff.
func TestRunbookGolden(t *testing.T) {
	s, err := site.Load("testdata/runbook-site.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := RunbookFor(s, s.Hosts, "/home/admin/acme.yaml", "1.2.3", time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	md, html, err := RenderRunbook(d)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"runbook.golden.md": md, "runbook.golden.html": html} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestRunbookGolden -update)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs from the runbook rendered now; run with -update and read the diff", name)
		}
	}
	// What the issue asks of it, said plainly (so a golden file updated
	// in a hurry cannot lose it).
	for _, want := range []string{
		"| main | 203.0.113.10 | manager |", "`ssh -p 2222 root@203.0.113.11`",
		"https://pad.acme.example:8443/", "`etherpad-admin-password`", "https://acme.example/",
		"collabstack restore --config", "spare (spare:/var/backups/collabstack)", "vault-example-net (sftp:backup@vault.example.net:/srv/acme)",
		"collabstack failover --config /home/admin/acme.yaml --yes",
		"3478/udp", "198.51.100.7, 192.168.1.0/24", "2377/tcp",
		"| A | pad.acme.example |", "| A | acme.example |",
		"/var/lib/acme/site.state/secrets.yaml", "site-ca.pem",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("the runbook lacks %q", want)
		}
	}
	if strings.Contains(string(html), "<script") || !strings.Contains(string(html), "<h2>DNS records</h2>") {
		t.Error("html")
	}
}

// The runbook of a lab with no hosts running yet still renders.
func TestRunbookOfAnEmptyLab(t *testing.T) {
	s := &site.Site{Version: 1, Topology: site.TopologyLab, Domain: "lab.test", StateDir: "/tmp/x"}
	d, err := RunbookFor(s, nil, "lab.yaml", "dev", time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	md, _, err := RenderRunbook(d)
	if err != nil || !strings.Contains(string(md), "No hosts yet") || !strings.Contains(string(md), "No backups are set up") {
		t.Errorf("%v\n%s", err, md)
	}
}
