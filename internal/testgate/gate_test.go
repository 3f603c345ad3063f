package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goTestJSON runs a real `go test -json` over a throwaway module whose
// tests pass, skip (one in a subtest) and, when fail is set, fail.
func goTestJSON(t *testing.T, fail bool) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.org/m\n\ngo 1.21\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "a"), 0o755)
	src := `package a

import "testing"

func TestPass(t *testing.T) { t.Log("fine") }
func TestSkipped(t *testing.T) { t.Skip("no frobnicator here") }
func TestTable(t *testing.T) {
	t.Run("one", func(t *testing.T) {})
	t.Run("two", func(t *testing.T) { t.Skipf("case two needs %s", "root") })
}
`
	if fail {
		src += "func TestBroken(t *testing.T) { t.Log(\"some context\"); t.Fatal(\"it broke\") }\n"
	}
	os.WriteFile(filepath.Join(dir, "a", "a_test.go"), []byte(src), 0o644)
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil && !fail {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	return string(out)
}

func run(t *testing.T, events string, g *Gate) (string, bool) {
	t.Helper()
	var out strings.Builder
	g.Out = &out
	if err := g.Feed(strings.NewReader(events)); err != nil {
		t.Fatal(err)
	}
	ok := g.Finish()
	return out.String(), ok
}

func TestSkipsFailUnderCIUnlessAllowed(t *testing.T) {
	events := goTestJSON(t, false)

	// Outside CI a skip is reported, not fatal.
	out, ok := run(t, events, &Gate{Module: "example.org/m"})
	if !ok || !strings.Contains(out, "would fail the run under CI=true") || !strings.Contains(out, "no frobnicator here") {
		t.Fatalf("outside CI: ok=%v\n%s", ok, out)
	}
	// The package's closing line stays visible: CI judges runs by it.
	if !strings.Contains(out, "ok  \texample.org/m/a") {
		t.Errorf("no ok line:\n%s", out)
	}
	// Without -v the passing tests' lines are not printed.
	if strings.Contains(out, "=== RUN") || strings.Contains(out, "fine") {
		t.Errorf("non-verbose output shows passing tests:\n%s", out)
	}

	// Under CI the same run fails, naming both skips.
	out, ok = run(t, events, &Gate{Module: "example.org/m", CI: true})
	if ok || !strings.Contains(out, "TestSkipped: ") || !strings.Contains(out, "TestTable/two: ") || !strings.Contains(out, "test gate: FAIL") {
		t.Fatalf("under CI with no allow-list: ok=%v\n%s", ok, out)
	}

	// Allowed by path inside the module and by import path (the parent
	// test allows its subtests), the run passes and lists them.
	allow, err := ParseAllowList(strings.NewReader("# reviewed\n\nTestSkipped\ta\tthe frobnicator is not packaged\nTestTable\texample.org/m/a\tcase two needs root\nTestGone\t./a\tfixed since\n"), "skips.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, ok = run(t, events, &Gate{Module: "example.org/m", CI: true, Allow: allow})
	if !ok {
		t.Fatalf("allowed skips failed the run:\n%s", out)
	}
	for _, want := range []string{"skips allowed by the allow-list: 2", "allowed because: the frobnicator is not packaged", "the test said: a_test.go:6: no frobnicator here", "TestTable/two", "line 5: ./a TestGone", "test gate: PASS"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}

	// Allowing one subtest does not allow the other test.
	allow, _ = ParseAllowList(strings.NewReader("TestTable/two\ta\tneeds root\n"), "skips.txt")
	out, ok = run(t, events, &Gate{Module: "example.org/m", CI: true, Allow: allow})
	if ok || !strings.Contains(out, "NOT on the allow-list: 1") {
		t.Fatalf("one allowed, one not: ok=%v\n%s", ok, out)
	}
}

func TestVerboseShowsEverythingAndFailuresAlwaysShow(t *testing.T) {
	events := goTestJSON(t, true)
	out, ok := run(t, events, &Gate{Module: "example.org/m"})
	if ok {
		t.Fatal("a failing test passed the gate")
	}
	for _, want := range []string{"some context", "it broke", "--- FAIL: TestBroken", "FAIL\texample.org/m/a", "example.org/m/a.TestBroken"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "fine") {
		t.Errorf("a passing test's log in non-verbose output:\n%s", out)
	}
	out, _ = run(t, events, &Gate{Module: "example.org/m", Verbose: true})
	for _, want := range []string{"=== RUN   TestPass", "fine", "--- SKIP: TestSkipped", "--- PASS: TestPass"} {
		if !strings.Contains(out, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, out)
		}
	}
}

func TestBuildFailureFailsTheGate(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.org/b\n\ngo 1.21\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b_test.go"), []byte("package b\n\nfunc broken( {\n"), 0o644)
	cmd := exec.Command("go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	events, _ := cmd.CombinedOutput()
	out, ok := run(t, string(events), &Gate{Module: "example.org/b"})
	if ok || !strings.Contains(out, "test gate: FAIL") {
		t.Fatalf("a build failure passed the gate:\n%s", out)
	}
}

func TestAllowListFormatErrorsNameTheLine(t *testing.T) {
	for _, bad := range []string{
		"TestX steps/swarm reason with spaces not tabs\n",
		"TestX\tsteps/swarm\n",
		"TestX\tsteps/swarm\t \n",
		"TestX\tsteps/swarm\treason\textra\n",
	} {
		_, err := ParseAllowList(strings.NewReader("# header\n"+bad), ".ci/skips.txt")
		if err == nil || !strings.Contains(err.Error(), ".ci/skips.txt:2:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestTheRepositoryAllowListParses keeps .ci/skips.txt well-formed and
// every line naming a test that exists in the package it names.
func TestTheRepositoryAllowListParses(t *testing.T) {
	p := filepath.Join("..", "..", ".ci", "skips.txt")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	allow, err := ParseAllowList(f, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allow {
		dir := filepath.Join("..", "..", strings.TrimPrefix(strings.TrimPrefix(a.Package, "github.com/collabstack/collabstack/"), "./"))
		files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
		top := strings.SplitN(a.Test, "/", 2)[0]
		found := false
		for _, f := range files {
			data, _ := os.ReadFile(f)
			if strings.Contains(string(data), "func "+top+"(") {
				found = true
			}
		}
		if !found {
			t.Errorf("%s line %d: no func %s in %s/*_test.go", p, a.Line, top, dir)
		}
	}
}
