package templates

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestEveryFileEmbedded fails when a file under templates/ is not in the
// binary (go:embed patterns skip names starting with "_" or ".").
func TestEveryFileEmbedded(t *testing.T) {
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) == ".go" {
			return err
		}
		if _, err := fs.Stat(FS, filepath.ToSlash(p)); err != nil {
			t.Errorf("%s is not embedded: name it in a //go:embed line of templates.go", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("kopnik/crossbar/psycopg2cffi/__init__.py"); err != nil {
		t.Fatal(err)
	}
}
