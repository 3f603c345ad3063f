package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/sshtest"
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

// TestPlanSaysWhenPendingUpgradesAreUnknown: plan against a real sshd whose
// host has no swarm reads the steps as usual and ends with one line saying
// the pending upgrades are unknown until the swarm runs (the comparison
// itself is lifecycle.Pending's, tested there).
func TestPlanSaysWhenPendingUpgradesAreUnknown(t *testing.T) {
	srv := sshtest.Start(t)
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "home"), 0o700)
	p := siteAt(t, dir, srv.Port, srv.User, srv.KeyFile, "    host_key: "+srv.Fingerprint(t)+"\n")
	code, out := runBin(t, dir, nil, "plan", "--config", p)
	if code != ExitOK || !strings.Contains(out, "Pending upgrades: unknown until the swarm runs") {
		t.Errorf("plan: exit %d\n%s", code, out)
	}
}
