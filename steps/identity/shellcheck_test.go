package identity

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/script"
)

// The scripts of the package, rendered with sample values, are clean for
// shellcheck (as POSIX sh: they run under dash in the stand-in and bash
// in the upstream images, and under sh on the manager).
func TestScriptsAreShellcheckClean(t *testing.T) {
	testtools.NeedCommand(t, "shellcheck", "apt-get install shellcheck")
	for path, data := range map[string]map[string]any{
		DirectoryScript: {"Base": "dc=x,dc=test", "Readers": []reader{{"keycloak", "pw'1"}, {"freeradius", "pw2"}}},
		UsersScript: {"Base": "dc=x,dc=test", "Op": "add", "UID": "jane", "CN": "Jane", "SN": "Doe", "Mail": "j@x.test",
			"Password": "secret pass", "Groups": []string{"admins"}, "Leave": []string{"staff"}},
	} {
		text, err := script.Render(path, data)
		if err != nil {
			t.Fatal(err)
		}
		check(t, path, text)
	}
	text, err := script.RenderFile(RequestScript, map[string]any{"Method": "POST", "URL": "https://sso.x.test:443/admin/realms",
		"Resolve": "sso.x.test:443:127.0.0.1", "ContentType": "application/json", "Body": `{"realm":"x"}`, "Token": "abc.def"})
	if err != nil {
		t.Fatal(err)
	}
	check(t, RequestScript, "#!/bin/sh\n"+text)
}

func check(t *testing.T, name, text string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "s.sh")
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("shellcheck", "-s", "sh", f).CombinedOutput(); err != nil {
		t.Errorf("shellcheck %s:\n%s", name, out)
	}
}
