package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runbook prints the Markdown and writes runbook.md and runbook.html
// (0600) into the state directory; it names secrets, never their values.
func TestRunbookCommand(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(path, []byte(removeSite), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := run(t, "", "runbook", "--config", path)
	if code != ExitOK || !strings.Contains(out, "# Runbook of ") || !strings.Contains(out, "https://pad.remove.test/") || !strings.Contains(out, "`etherpad-admin-password`") {
		t.Fatalf("runbook: %d %s\n%s", code, errs, out)
	}
	for _, f := range []string{"runbook.md", "runbook.html"} {
		st, err := os.Stat(filepath.Join(dir, "site.state", f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", f, err, st)
		}
	}
	if code, out, _ := run(t, "", "runbook", "--config", path, "--format", "html"); code != ExitOK || !strings.Contains(out, "<h2>DNS records</h2>") {
		t.Errorf("--format html: %d", code)
	}
	if code, _, _ := run(t, "", "runbook", "--config", path, "--format", "pdf"); code != ExitUsage {
		t.Errorf("--format pdf: %d", code)
	}
}
