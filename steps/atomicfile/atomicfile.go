// Package atomicfile writes local files so that a reader, or a crash,
// never sees half of one: a temporary file in the same folder, synced,
// then renamed over the target.
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path with data, created with mode (which the temporary
// file has from the start, so a secret is never readable by others).
func Write(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
