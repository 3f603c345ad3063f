package testtools

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An old client first on PATH (one that answers `docker stack config` with
// the usage of `docker stack` and exit 0, as Debian 12's does) is passed
// over for a later one that has the command.
func TestStackConfigDockerPassesOverAnOldClient(t *testing.T) {
	old, good := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(old, "docker"), []byte("#!/bin/sh\necho 'Usage:  docker stack [OPTIONS] COMMAND'\n"), 0o755)
	os.WriteFile(filepath.Join(good, "docker"), []byte("#!/bin/sh\n[ \"$1 $2\" = 'stack config' ] && cat stack.yaml\n"), 0o755)
	t.Setenv("PATH", old+string(os.PathListSeparator)+good+string(os.PathListSeparator)+os.Getenv("PATH"))
	if got := All("docker"); len(got) < 2 || got[0] != filepath.Join(old, "docker") || got[1] != filepath.Join(good, "docker") {
		t.Fatalf("All: %v", got)
	}
	p, why := findStackConfig()
	if p != filepath.Join(good, "docker") || len(why) != 1 || !strings.Contains(why[0], old) {
		t.Fatalf("found %q, passed over %v", p, why)
	}
	t.Setenv("PATH", old)
	if p, why := findStackConfig(); p != "" || len(why) != 1 {
		t.Fatalf("only an old client: %q %v", p, why)
	}
}

// On this machine a client with `stack config` must be found (CI has one).
func TestThisMachineHasStackConfig(t *testing.T) {
	p := StackConfigDocker(t)
	t.Logf("docker with stack config: %s", p)
}
