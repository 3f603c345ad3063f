package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const removeSite = `version: 1
topology: lab
domain: remove.test
admin_email: admin@remove.test
lab: {nodes: 1}
components:
  # the team's pad
  etherpad: {}
  postgres: {}
  redis: {}
`

// Removing what another chosen component needs is refused, naming it,
// with exit code 2 and the site file untouched; so is --purge when the
// typed name is not the component's. Neither reaches a host.
func TestRemoveRefusesAndChangesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(path, []byte(removeSite), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "", "remove", "postgres", "--config", path)
	if code != ExitUsage || !strings.Contains(errs, "etherpad requires postgres") || !strings.Contains(errs, "nothing was changed") {
		t.Errorf("remove postgres: %d %s", code, errs)
	}
	code, out, errs := run(t, "etherpd\n", "remove", "redis", "--purge", "--config", path)
	if code != ExitUsage || !strings.Contains(out, "Type redis to go ahead") || !strings.Contains(errs, "not confirmed") {
		t.Errorf("remove --purge with the wrong name: %d %s %s", code, out, errs)
	}
	code, _, errs = run(t, "", "remove", "Redis;", "--config", path)
	if code != ExitUsage {
		t.Errorf("a bad name: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(path); string(b) != removeSite {
		t.Errorf("the site file changed:\n%s", b)
	}
	if _, err := os.Stat(path + ".before-remove"); err == nil {
		t.Error("a refused remove kept a copy as if it had changed the file")
	}
}
