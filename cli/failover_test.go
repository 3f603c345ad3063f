package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/site"
)

// TestSwapRolesKeepsTheFileAndItsComments: a failover rewrites only the
// two roles (and drops the placement labels, which follow the role),
// keeps the comments and leaves the old file beside it.
func TestSwapRolesKeepsTheFileAndItsComments(t *testing.T) {
	p := filepath.Join(t.TempDir(), "kopnik.yaml")
	orig := `version: 1
topology: kopnik
domain: kopnik.example.org
admin_email: a@kopnik.example.org
hosts:
  # the main server
  - name: main
    address: 203.0.113.10
    role: manager
    labels: {role: infra}
  - name: standby
    address: 203.0.113.11
    role: standby
components:
  kopnik: {}
`
	os.WriteFile(p, []byte(orig), 0o600)
	if err := swapRoles(p, "main", "standby"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	s, err := site.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.Hosts[0].Role != site.RoleStandby || s.Hosts[1].Role != site.RoleManager || s.Hosts[0].Labels != nil {
		t.Errorf("roles not swapped: %+v", s.Hosts)
	}
	if !strings.Contains(string(data), "# the main server") {
		t.Errorf("comment lost:\n%s", data)
	}
	if old, _ := os.ReadFile(p + ".before-failover"); string(old) != orig {
		t.Error("the file before the failover was not kept")
	}
}
