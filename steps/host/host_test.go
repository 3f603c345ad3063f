package host

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuoteSurvivesTheShell(t *testing.T) {
	for _, s := range []string{"", "plain", "with space", "it's", `"$HOME" $(id) ; rm -rf /`, "new\nline"} {
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+Quote(s)).Output()
		if err != nil || string(out) != s {
			t.Errorf("Quote(%q): shell printed %q (%v)", s, out, err)
		}
	}
}

func TestLocalRunStreamsLinesAndReportsExit(t *testing.T) {
	l := NewLocal("here")
	var lines []string
	out, err := l.Run(context.Background(), "echo one; echo two >&2; printf three", RunOpts{Output: func(s string) { lines = append(lines, s) }, Env: map[string]string{"X": "a b"}})
	if err != nil || out != "one\nthree" {
		t.Fatalf("%q %v", out, err)
	}
	if strings.Join(lines, "|") == "" || len(lines) != 3 {
		t.Errorf("lines %v", lines)
	}
	_, err = l.Run(context.Background(), "echo bad >&2; exit 7", RunOpts{})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 || ee.Stderr != "bad" || ee.Host != "here" {
		t.Fatalf("exit error: %#v", err)
	}
}

func TestLocalUploadIsAtomicWithMode(t *testing.T) {
	l := NewLocal("here")
	p := filepath.Join(t.TempDir(), "sub", "f")
	if err := l.Upload(context.Background(), p, []byte("data"), 0o640, ""); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if _, err := l.ReadFile(context.Background(), p+".missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
