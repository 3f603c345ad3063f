package tui

import (
	"strings"
	"testing"
)

func TestDependenciesComeAlong(t *testing.T) {
	c := newCatalog(DemoCatalog())
	hw := hardware{Hosts: []string{"main"}, RAMMB: 16384, DiskGB: 200}
	if err := c.toggle("nextcloud", hw); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.selected(), ","); got != "nextcloud,postgres,redis" {
		t.Fatalf("selected %s", got)
	}
	// A needed component cannot be dropped while its user is chosen.
	c.chosen["postgres"] = true
	err := c.toggle("postgres", hw)
	if err == nil || !strings.Contains(err.Error(), "needed by Nextcloud") {
		t.Fatalf("dropping postgres: %v", err)
	}
	if err := c.toggle("nextcloud", hw); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.selected(), ","); got != "postgres" {
		t.Fatalf("after dropping nextcloud: %s", got)
	}
}

func TestOverCommitRefused(t *testing.T) {
	c := newCatalog(DemoCatalog())
	hw := hardware{Hosts: []string{"main"}, RAMMB: 4096, DiskGB: 80}
	if err := c.toggle("nextcloud", hw); err != nil { // 1024 + 2048 + 512 + 256 = 3840
		t.Fatal(err)
	}
	err := c.toggle("gitea", hw)
	if err == nil {
		t.Fatal("gitea fitted into 4 GB with nextcloud")
	}
	for _, want := range []string{"Gitea needs 512 MB of memory", "4.2 GB", "4.0 GB of main", "Deselect a component"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}
	if c.isSelected("gitea") {
		t.Error("gitea was chosen anyway")
	}
	// Unknown hardware: nothing is refused.
	if err := c.toggle("gitea", hardware{}); err != nil {
		t.Errorf("unknown hardware: %v", err)
	}
	if err := c.set([]string{"nextclod"}, hw); err == nil || !strings.Contains(err.Error(), "did you mean nextcloud") {
		t.Errorf("typo: %v", err)
	}
}
