package pvesim

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/pveinstall"
)

// TestSchemaIsOfThePVEVersionInstalled: the simulator validates against
// the API schema of the Proxmox VE that steps/pveinstall installs (its
// Debian suite names the release: bookworm is PVE 8), and reports that
// version, so a parameter PVE 8 lacks fails here as it would there.
func TestSchemaIsOfThePVEVersionInstalled(t *testing.T) {
	var sc struct{ Source string }
	if err := json.Unmarshal(schemaJSON, &sc); err != nil {
		t.Fatal(err)
	}
	majorOf := map[string]string{"bookworm": "8", "trixie": "9"}
	want, ok := majorOf[pveinstall.DefaultSuite]
	if !ok {
		t.Fatalf("which PVE release installs on %s? add it here and regenerate schema.json (schema_gen.go)", pveinstall.DefaultSuite)
	}
	m := regexp.MustCompile(`apidata\.js (\d+)\.\d+`).FindStringSubmatch(sc.Source)
	if m == nil || m[1] != want || !strings.Contains(sc.Source, "stable-"+pveinstall.DefaultSuite) {
		t.Errorf("schema.json is from %q; pveinstall installs PVE %s (suite %s): regenerate it from pve-docs branch stable-%s", sc.Source, want, pveinstall.DefaultSuite, pveinstall.DefaultSuite)
	}
	if !strings.HasPrefix(DefaultVersion, want+".") {
		t.Errorf("the simulator reports pve-manager %s, want PVE %s", DefaultVersion, want)
	}
	// Parameters PVE 9 added are refused, as PVE 8 refuses them.
	sch, err := loadSchema()
	if err != nil {
		t.Fatal(err)
	}
	if e := sch.validate("POST /nodes/{node}/qemu", map[string]string{"node": "pve", "vmid": "100", "allow-ksm": "1"}); e == nil || e.params["allow-ksm"] == "" {
		t.Errorf("PVE 9's allow-ksm accepted: %v", e)
	}
}
