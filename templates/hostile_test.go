package templates

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/collabstack/collabstack/internal/testtools"
)

// hostileShell has what a shell reads as syntax and a line break followed
// by unbalanced quotes, so that a value pasted into a script without sh
// (or q) leaves `sh -n` a syntax error.
const hostileShell = `a'b"c` + "`id`" + `$(id)${HOME};d\e&f|g{h}#i` + "\n" + `'" PWNED`

// TestEveryShellScriptKeepsHostileValuesData renders every shell script
// of templates/ (the app hooks have their own test in steps/apps) with
// every value it reads set to hostileShell and checks the result with
// `sh -n`. The data is shaped from the template itself: a field ranged
// over is a list, a field with fields a map. What it cannot show: a value
// inside a quoted here-document is data to sh whatever it holds, so there
// only the value's own validation (steps/site) protects the file written.
func TestEveryShellScriptKeepsHostileValuesData(t *testing.T) {
	sh := testtools.NeedCommand(t, "sh", "a POSIX shell")
	dir := t.TempDir()
	rendered := 0
	var skipped []string
	fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !IsShell(p) || strings.HasPrefix(p, "apps/") {
			return nil
		}
		src, _ := fs.ReadFile(FS, p)
		if !strings.Contains(string(src), "{{") {
			return nil
		}
		tm, err := Parse(nil, p, nil)
		if err != nil {
			t.Errorf("%v", err)
			return nil
		}
		root := &shape{}
		for _, tt := range tm.Templates() {
			if tt.Tree != nil {
				root.walk(tt.Tree.Root)
			}
		}
		out, err := Execute(tm, root.value())
		if err != nil {
			skipped = append(skipped, p+": "+err.Error())
			return nil
		}
		f := filepath.Join(dir, strings.ReplaceAll(p, "/", "_"))
		os.WriteFile(f, out, 0o600)
		msg, err := exec.Command(sh, "-n", f).CombinedOutput()
		switch why, known := pending[p]; {
		case err != nil && known:
			t.Logf("%s: still pastes values unescaped (%s): %s", p, why, firstLine(string(msg)))
		case err != nil:
			t.Errorf("%s: a value broke out of its quoting (sh -n: %s):\n%s", p, msg, out)
		case known:
			t.Errorf("%s now keeps hostile values data: remove it from pending", p)
		}
		rendered++
		return nil
	})
	for _, s := range skipped {
		t.Logf("not rendered with made-up data (its package's tests render it): %s", s)
	}
	if rendered < 20 {
		t.Fatalf("only %d shell scripts rendered", rendered)
	}
	t.Logf("%d shell scripts rendered with hostile values", rendered)
}

// pending are scripts written while this test was, that put values in
// comments, messages or pre-quoted command lines; each must move to sh (or
// drop the value from its comments) and leave this list.
var pending = map[string]string{}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// shape is what a template reads of its data.
type shape struct {
	fields map[string]*shape
	list   *shape // ranged over: a list of these
}

func (s *shape) field(name string) *shape {
	if s.fields == nil {
		s.fields = map[string]*shape{}
	}
	if s.fields[name] == nil {
		s.fields[name] = &shape{}
	}
	return s.fields[name]
}

func (s *shape) path(idents []string) *shape {
	for _, id := range idents {
		s = s.field(id)
	}
	return s
}

func (s *shape) value() any {
	switch {
	case s.list != nil:
		return []any{s.list.value()}
	case len(s.fields) > 0:
		m := map[string]any{}
		for k, v := range s.fields {
			m[k] = v.value()
		}
		return m
	}
	return hostileShell
}

// target is the shape a pipeline's first command names (.A.B or $.A).
func (s *shape) target(root *shape, pipe *parse.PipeNode) *shape {
	if pipe == nil || len(pipe.Cmds) == 0 || len(pipe.Cmds[0].Args) == 0 {
		return nil
	}
	switch a := pipe.Cmds[0].Args[0].(type) {
	case *parse.FieldNode:
		return s.path(a.Ident)
	case *parse.VariableNode:
		if a.Ident[0] == "$" {
			return root.path(a.Ident[1:])
		}
	case *parse.DotNode:
		return s
	}
	return nil
}

func (s *shape) walk(n parse.Node) { s.walkIn(s, n) }

func (s *shape) walkIn(root *shape, n parse.Node) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			s.walkIn(root, c)
		}
	case *parse.ActionNode:
		s.pipe(root, x.Pipe)
	case *parse.IfNode:
		s.pipe(root, x.Pipe)
		s.walkIn(root, x.List)
		s.walkIn(root, x.ElseList)
	case *parse.RangeNode:
		s.pipe(root, x.Pipe)
		if t := s.target(root, x.Pipe); t != nil {
			if t.list == nil {
				t.list = &shape{}
			}
			t.list.walkIn(root, x.List)
		}
		s.walkIn(root, x.ElseList)
	case *parse.WithNode:
		s.pipe(root, x.Pipe)
		if t := s.target(root, x.Pipe); t != nil {
			t.walkIn(root, x.List)
		}
		s.walkIn(root, x.ElseList)
	}
}

func (s *shape) pipe(root *shape, p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			switch x := a.(type) {
			case *parse.FieldNode:
				s.path(x.Ident)
			case *parse.VariableNode:
				if x.Ident[0] == "$" && len(x.Ident) > 1 {
					root.path(x.Ident[1:])
				}
			case *parse.PipeNode:
				s.pipe(root, x)
			}
		}
	}
}
