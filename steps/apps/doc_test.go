package apps

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/apps.md from the catalog")

// TestDocs fails when docs/apps.md is not what the catalog's metadata
// makes; `go test ./steps/apps -run TestDocs -update` rewrites it.
func TestDocs(t *testing.T) {
	c := loadCatalog(t)
	want := MarkdownDoc(c)
	path := filepath.Join("..", "..", "docs", "apps.md")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run `go test ./steps/apps -run TestDocs -update`", err)
	}
	if !bytes.Equal(have, want) {
		t.Fatal("docs/apps.md is stale: run `go test ./steps/apps -run TestDocs -update`")
	}
}

// TestBudgetOfEverything reports what choosing every app needs against
// seed 000's server.
func TestBudgetOfEverything(t *testing.T) {
	c := loadCatalog(t)
	all, err := c.Resolve(c.Names())
	if err != nil {
		t.Fatal(err)
	}
	total, err := c.Budget(all)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("every app (%d stacks): %s", len(all), total)
	if err := total.Check(Seed000); err != nil {
		t.Logf("against %s: %v", Seed000.Name, err)
	} else {
		t.Logf("fits %s (%d GB RAM, %.1f GB kept for the hosts)", Seed000.Name, Seed000.RAMMB/1024, gb(Seed000.Reserve()))
	}
	by, err := c.BudgetByPlacement(all, RenderInput{})
	if err != nil {
		t.Fatal(err)
	}
	for label, sum := range by {
		t.Logf("nodes labelled %s: %s", label, sum)
	}
	small := Hardware{Name: "a 4 GB box", RAMMB: 4096, DiskGB: 20, Cores: 1}
	if err := total.Check(small); err == nil {
		t.Error("everything fits a 4 GB box?")
	}
	if _, err := c.Budget([]string{"nope"}); err == nil {
		t.Error("an unknown app was budgeted")
	}
}
