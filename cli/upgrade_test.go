package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// upgrade of a component the site does not have is a usage error that
// changes nothing; its pending upgrades are compared in steps/lifecycle.
func TestUpgradeRefusesAnUnknownComponent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte(removeSite), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "", "upgrade", "nextcloud", "--check", "--config", path)
	if code != ExitUsage || !strings.Contains(errs, "not a chosen app") {
		t.Errorf("upgrade nextcloud: %d %s", code, errs)
	}
}
