// Command testgate reads `go test -json` on stdin, prints it for people
// (every line with -v, otherwise the package result lines and the output of
// failed tests), and judges the run: a failed test fails it, and under
// -ci a skipped test fails it too unless the allow-list names it with a
// reason. At the end it lists every skip, allowed or not, and the slowest
// packages.
//
// The allow-list (.ci/skips.txt) has one skip per line:
//
//	TestName<TAB>package<TAB>reason
//
// where package is the import path or the path inside the module
// (steps/swarm, ./steps/swarm), TestName may name a subtest
// (TestX/case), and naming a test allows the skips of its subtests too.
// Blank lines and lines starting with # are ignored.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// Event is one line of `go test -json` (cmd/test2json).
type Event struct {
	Time       time.Time
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string
}

// Allow is one line of the allow-list.
type Allow struct {
	Test, Package, Reason string
	Line                  int
}

// ParseAllowList reads the allow-list; a line without its three fields is
// an error naming the line.
func ParseAllowList(r io.Reader, name string) ([]Allow, error) {
	var out []Allow
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || strings.TrimSpace(f[0]) == "" || strings.TrimSpace(f[1]) == "" || strings.TrimSpace(f[2]) == "" {
			return nil, fmt.Errorf("%s:%d: want TestName<TAB>package<TAB>reason (three fields separated by single tabs, none empty), got %q", name, n, line)
		}
		out = append(out, Allow{Test: strings.TrimSpace(f[0]), Package: strings.TrimSpace(f[1]), Reason: strings.TrimSpace(f[2]), Line: n})
	}
	return out, sc.Err()
}

// Skip is one skipped test and why it said it skipped.
type Skip struct {
	Package, Test, Message string
	Allowed                *Allow
}

// Gate follows the event stream.
type Gate struct {
	Out     io.Writer
	Verbose bool
	// CI makes a skip that the allow-list does not name a failure.
	CI     bool
	Module string // the module path, to match allow-list paths inside it
	Allow  []Allow

	buf      map[string][]string // output per package/test, for failures and skip reasons
	Skips    []Skip
	Failed   []string // package or package.Test
	Packages map[string]float64
	pkgFail  map[string]bool
	bad      []string // lines that were not JSON
}

func key(pkg, test string) string { return pkg + "\x00" + test }

// Feed reads events until r ends.
func (g *Gate) Feed(r io.Reader) error {
	if g.buf == nil {
		g.buf = map[string][]string{}
		g.Packages = map[string]float64{}
		g.pkgFail = map[string]bool{}
	}
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			g.line(line)
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (g *Gate) line(line string) {
	var e Event
	if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
		// Not an event (go vet or the linker writing to the same
		// stream): show it as it came.
		fmt.Fprint(g.Out, line)
		if !strings.HasSuffix(line, "\n") {
			fmt.Fprintln(g.Out)
		}
		return
	}
	g.event(e)
}

func (g *Gate) event(e Event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(g.Out, e.Output)
		return
	case "build-fail":
		g.Failed = append(g.Failed, e.ImportPath+" (build)")
		return
	}
	if e.Test == "" {
		switch e.Action {
		case "output":
			// The package's own lines: ok/FAIL/PASS, panics outside a
			// test, "no test files". CI judges runs by these.
			fmt.Fprint(g.Out, e.Output)
		case "pass", "fail":
			g.Packages[e.Package] = e.Elapsed
			if e.Action == "fail" {
				g.pkgFail[e.Package] = true
				if !g.hasFailedTest(e.Package) {
					g.Failed = append(g.Failed, e.Package)
				}
			}
		}
		return
	}
	k := key(e.Package, e.Test)
	switch e.Action {
	case "output":
		if g.Verbose {
			fmt.Fprint(g.Out, e.Output)
		}
		g.buf[k] = append(g.buf[k], e.Output)
	case "fail":
		if !g.Verbose {
			for _, l := range g.buf[k] {
				fmt.Fprint(g.Out, l)
			}
		}
		g.Failed = append(g.Failed, e.Package+"."+e.Test)
		delete(g.buf, k)
	case "skip":
		s := Skip{Package: e.Package, Test: e.Test, Message: skipMessage(g.buf[k])}
		s.Allowed = g.allowed(e.Package, e.Test)
		g.Skips = append(g.Skips, s)
		delete(g.buf, k)
	case "pass":
		delete(g.buf, k)
	}
}

func (g *Gate) hasFailedTest(pkg string) bool {
	for _, f := range g.Failed {
		if strings.HasPrefix(f, pkg+".") {
			return true
		}
	}
	return false
}

// skipMessage is what the test said before "--- SKIP": the lines after its
// last "=== RUN/CONT" header, without the file:line prefix's indentation.
func skipMessage(lines []string) string {
	var msg []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "=== "):
			msg = msg[:0]
		case strings.HasPrefix(t, "--- "), t == "":
		default:
			msg = append(msg, t)
		}
	}
	// The skip reason is the last thing logged; keep it short.
	if len(msg) > 3 {
		msg = msg[len(msg)-3:]
	}
	return strings.Join(msg, " / ")
}

func (g *Gate) allowed(pkg, test string) *Allow {
	for i := range g.Allow {
		a := &g.Allow[i]
		if !g.samePackage(a.Package, pkg) {
			continue
		}
		if a.Test == test || strings.HasPrefix(test, a.Test+"/") {
			return a
		}
	}
	return nil
}

func (g *Gate) samePackage(listed, pkg string) bool {
	listed = strings.TrimSuffix(strings.TrimPrefix(listed, "./"), "/")
	if listed == pkg {
		return true
	}
	if g.Module == "" {
		return false
	}
	if listed == "." || listed == "" {
		return pkg == g.Module
	}
	return g.Module+"/"+listed == pkg
}

// Finish prints the skips and slowest packages and says whether the run
// passed the gate.
func (g *Gate) Finish() bool {
	ok := len(g.Failed) == 0
	var allowed, denied []Skip
	for _, s := range g.Skips {
		if s.Allowed != nil {
			allowed = append(allowed, s)
		} else {
			denied = append(denied, s)
		}
	}
	w := g.Out
	fmt.Fprintf(w, "\n== skips allowed by the allow-list: %d\n", len(allowed))
	for _, s := range allowed {
		fmt.Fprintf(w, "  %s %s\n      allowed because: %s\n      the test said: %s\n", s.Package, s.Test, s.Allowed.Reason, s.Message)
	}
	if len(denied) > 0 {
		if g.CI {
			fmt.Fprintf(w, "\n== skips NOT on the allow-list: %d (each fails the run under CI=true; fix its cause, or add it to .ci/skips.txt with the reason)\n", len(denied))
			ok = false
		} else {
			fmt.Fprintf(w, "\n== skips not on the allow-list: %d (these would fail the run under CI=true)\n", len(denied))
		}
		for _, s := range denied {
			fmt.Fprintf(w, "  %s %s: %s\n", s.Package, s.Test, s.Message)
		}
	}
	var unused []string
	for _, a := range g.Allow {
		used := false
		for _, s := range allowed {
			if s.Allowed.Line == a.Line {
				used = true
			}
		}
		if !used {
			unused = append(unused, fmt.Sprintf("line %d: %s %s", a.Line, a.Package, a.Test))
		}
	}
	if len(unused) > 0 {
		fmt.Fprintf(w, "\n== allow-list lines that allowed no skip in this run: %d (remove them once their cause is gone)\n", len(unused))
		for _, u := range unused {
			fmt.Fprintf(w, "  %s\n", u)
		}
	}
	if len(g.Packages) > 0 {
		type pt struct {
			p string
			s float64
		}
		var ps []pt
		for p, s := range g.Packages {
			ps = append(ps, pt{p, s})
		}
		sort.Slice(ps, func(i, j int) bool { return ps[i].s > ps[j].s || ps[i].s == ps[j].s && ps[i].p < ps[j].p })
		if len(ps) > 8 {
			ps = ps[:8]
		}
		fmt.Fprintln(w, "\n== slowest packages")
		for _, p := range ps {
			fmt.Fprintf(w, "  %8.1fs  %s\n", p.s, p.p)
		}
	}
	if len(g.Failed) > 0 {
		fmt.Fprintf(w, "\n== failed: %d\n", len(g.Failed))
		for _, f := range g.Failed {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	if ok {
		fmt.Fprintln(w, "\n== test gate: PASS")
	} else {
		fmt.Fprintln(w, "\n== test gate: FAIL")
	}
	return ok
}
