package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// The corpus of bad and hostile site files in testdata/bad: each starts
// with "# field: NAME", the field its error must name, and may say
// "# absent: TEXT" for a value the output must never repeat (a password
// typed where a secret's name belongs). `validate` and `plan` of the built
// binary must exit 2 on each, name the field, not panic, keep every line
// under 300 characters and create or change no file.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds collabstack once for the tests that run it as a user does.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "collabstack-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "collabstack")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/collabstack/collabstack").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// runBin runs the binary in dir with a clean environment (HOME in dir, no
// agent), returning its exit code and combined output.
func runBin(t *testing.T, dir string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"HOME=" + filepath.Join(dir, "home"), "PATH=" + os.Getenv("PATH"), "CI=true"}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("run %v: %v", args, err)
	return -1, ""
}

// snapshot records every file under dir with its mode and content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		info, _ := d.Info()
		sum := ""
		if d.Type().IsRegular() {
			data, _ := os.ReadFile(p)
			sum = fmt.Sprintf("%x", sha256.Sum256(data))
		}
		out[p] = fmt.Sprintf("%v %s", info.Mode(), sum)
		return nil
	})
	return out
}

func diffSnapshots(a, b map[string]string) []string {
	var d []string
	for p, v := range b {
		if a[p] != v {
			d = append(d, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			d = append(d, p+" (removed)")
		}
	}
	sort.Strings(d)
	return d
}

type badCase struct {
	name, field, absent string
	// write makes the case's files in dir and returns the --config path.
	write func(t *testing.T, dir string) string
}

func corpus(t *testing.T) []badCase {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 50 {
		t.Fatalf("the corpus has %d files (%v), want at least 50", len(files), err)
	}
	var cases []badCase
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := badCase{name: strings.TrimSuffix(filepath.Base(f), ".yaml")}
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "# field: "); ok {
				c.field = v
			} else if v, ok := strings.CutPrefix(line, "# absent: "); ok {
				c.absent = v
			}
		}
		if c.field == "" {
			t.Fatalf("%s has no # field: line", f)
		}
		c.write = func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "site.yaml")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return "site.yaml"
		}
		cases = append(cases, c)
	}
	// Cases that are no file in the repository.
	cases = append(cases,
		badCase{name: "missing-file", field: "nothere.yaml", write: func(t *testing.T, dir string) string { return "nothere.yaml" }},
		badCase{name: "directory", field: "site file", write: func(t *testing.T, dir string) string {
			os.Mkdir(filepath.Join(dir, "site.d"), 0o700)
			return "site.d"
		}},
		badCase{name: "ten-megabyte-value", field: "domain", write: func(t *testing.T, dir string) string {
			src := "version: 1\ntopology: lab\ndomain: " + strings.Repeat("x", 10<<20) + ".test\nadmin_email: a@b.test\n"
			os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(src), 0o600)
			return "site.yaml"
		}},
	)
	return cases
}

func TestBadSiteFilesExit2AndChangeNothing(t *testing.T) {
	binary(t)
	sem := make(chan struct{}, runtime.NumCPU())
	for _, c := range corpus(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sem <- struct{}{}
			defer func() { <-sem }()
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "home"), 0o700)
			config := c.write(t, dir)
			before := snapshot(t, dir)
			for _, command := range []string{"validate", "plan"} {
				code, out := runBin(t, dir, nil, command, "--config", config)
				if code != ExitUsage {
					t.Errorf("%s: exit %d, want 2:\n%.2000s", command, code, out)
				}
				if !strings.Contains(out, c.field) {
					t.Errorf("%s: the message does not name %s:\n%.2000s", command, c.field, out)
				}
				if strings.Contains(out, "panic") || strings.Contains(out, "goroutine ") {
					t.Errorf("%s panicked:\n%.2000s", command, out)
				}
				if c.absent != "" && strings.Contains(out, c.absent) {
					t.Errorf("%s repeats %q:\n%s", command, c.absent, out)
				}
				for _, l := range strings.Split(out, "\n") {
					if len(l) > 300 {
						t.Errorf("%s: a line of %d characters: %.120s…", command, len(l), l)
					}
				}
				if d := diffSnapshots(before, snapshot(t, dir)); len(d) > 0 {
					t.Errorf("%s created or changed %v", command, d)
				}
			}
		})
	}
}
