package cli

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// What users read never names the project's design documents ("seed 000",
// "design document"): presets are named by what they are. This walks what
// reaches users: the CLI and wizard sources (their strings are the
// binary's), the templates (rendered into files on the hosts), the docs,
// the README and the example site files.
func TestNoDesignDocumentWords(t *testing.T) {
	word := regexp.MustCompile(`(?i)\bseeds?\b|design[- ]doc`)
	// Lines that use the word for something else, or never reach a user.
	allowed := []struct{ path, line, why string }{
		{"templates/apps/", "seeds: [", "metadata key read by steps/apps only; docs/apps.md says it in plain words (\"Part of: the collaboration suite\")"},
		{"templates/apps/mastodon/", "vapid-seed", "the secret that Mastodon's VAPID key is derived from: a cryptographic seed"},
		{"templates/apps/mastodon/", "seed", "Rails' database seeds (db:seed, db/seeds): the initial rows Mastodon's roles and web app come from"},
		{"templates/apps/castopod/hooks/", "seeds (install:init-database)", "Castopod's install:init-database seeds its tables: initial rows"},
	}
	// Files that never reach a user as such: the upstream contracts quote
	// upstream paths and notes for developers; what users read of them
	// (proven:, manual:) is in docs/apps.md, which this test reads.
	skipFile := func(rel string) bool {
		return strings.HasPrefix(rel, "templates/apps/") && strings.HasSuffix(rel, "/contract.yaml")
	}
	root := filepath.Join("..")
	var files []string
	for _, dir := range []string{"cli", "tui", "templates", "docs", "examples"} {
		filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && !strings.HasSuffix(p, "_test.go") && !strings.Contains(p, "/testdata/") {
				files = append(files, p)
			}
			return nil
		})
	}
	files = append(files, filepath.Join(root, "README.md"))
	if len(files) < 50 {
		t.Fatalf("only %d files found: wrong working directory?", len(files))
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		if skipFile(filepath.ToSlash(rel)) {
			continue
		}
	lines:
		for i, l := range strings.Split(string(data), "\n") {
			if !word.MatchString(l) {
				continue
			}
			for _, a := range allowed {
				if strings.HasPrefix(rel, a.path) && strings.Contains(l, a.line) {
					continue lines
				}
			}
			t.Errorf("%s:%d names a design document: %s\n\tsay what the preset or number is instead", rel, i+1, strings.TrimSpace(l))
		}
	}
}
