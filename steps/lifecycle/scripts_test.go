package lifecycle

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/script"
)

// The lifecycle scripts, rendered, pass shellcheck; a hostile value stays
// one shell word. (The lab test TestRemoveReaddPurge runs them for real.)
func TestScriptsPassShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is needed (Debian package shellcheck; scripts/test installs it)")
	}
	for name, data := range map[string]map[string]any{
		"lifecycle/stack-rm.sh":      {"Stack": "etherpad'; rm -rf /"},
		"lifecycle/purge-volumes.sh": {"Stack": "etherpad"},
		"lifecycle/exec-service.sh":  {"Service": "postgres_postgres", "Args": []string{"psql", "-v", "ON_ERROR_STOP=1", "it's"}},
		"lifecycle/host-report.sh":   {"Since": "-24h"},
	} {
		text, err := script.RenderFile(name, data)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "etherpad'; rm") {
			t.Errorf("%s: a value is not quoted:\n%s", name, text)
		}
		cmd := exec.Command("shellcheck", "-s", "sh", "-S", "warning", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}
