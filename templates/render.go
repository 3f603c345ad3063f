package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// The one template loader. Every template of collabstack is parsed here,
// with escapers named for the target of the file they write into:
//
//	sh       a POSIX shell word: 'it'\''s'
//	yaml     a YAML double-quoted scalar (also valid JSON)
//	compose  a YAML scalar for a compose/stack file: yaml, with $ doubled
//	         so docker does not interpolate it
//	json     a JSON string (JavaScript and Python read it as well)
//	uci      an OpenWrt UCI value in a batch: 'value'
//	nginx    an nginx string: "value"; a $ (a variable) or a control
//	         character is an error, since nginx has no way to escape them
//	sql      an SQL string literal: 'it''s'
//
// A template names the escaper of its target for every value it inserts;
// a value inserted bare must be one collabstack made itself. There is no
// `q` that means one thing here and another there: q exists only in shell
// scripts (files whose name ends in .sh or .sh.tmpl), where it is sh.

// Funcs are the escapers and helpers every template gets.
var Funcs = template.FuncMap{
	"sh":      Sh,
	"yaml":    YAML,
	"compose": Compose,
	"json":    JSON,
	"uci":     UCI,
	"nginx":   Nginx,
	"sql":     SQL,
	"join":    func(list []string, sep string) string { return strings.Join(list, sep) },
}

// IsShell reports whether a template writes a shell script (and so may
// use q for sh).
func IsShell(name string) bool {
	n := strings.TrimSuffix(name, ".tmpl")
	return strings.HasSuffix(n, ".sh")
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}

// Sh quotes a value as one POSIX shell word.
func Sh(v any) string {
	s := str(v)
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// JSON quotes a value as a JSON string.
func JSON(v any) string {
	b, _ := json.Marshal(str(v))
	return string(b)
}

// YAML quotes a value as a YAML double-quoted scalar: YAML reads JSON's
// escapes, and JSON escapes every control character.
func YAML(v any) string { return JSON(v) }

// Compose quotes a value for a compose or stack file, where docker
// replaces $NAME and ${NAME}: $ is written $$.
func Compose(v any) string { return strings.ReplaceAll(YAML(v), "$", "$$") }

// UCI quotes a value for an OpenWrt UCI batch (and uci's shell-like
// parser): single quotes; a quote inside closes, escapes and reopens them.
func UCI(v any) string { return "'" + strings.ReplaceAll(str(v), "'", `'\''`) + "'" }

// Nginx quotes a value as an nginx string. nginx expands $name in most
// directives and has no escape for it, and a control character has no
// place in a directive: both are errors.
func Nginx(v any) (string, error) {
	s := str(v)
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '$' {
			return "", fmt.Errorf("nginx: %q cannot be written into an nginx configuration ($ or a control character)", s)
		}
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`, nil
}

// SQL quotes a value as an SQL string literal (standard_conforming_strings
// and MariaDB alike: no backslash escapes needed when backslashes are
// doubled).
func SQL(v any) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(str(v), `\`, `\\`), "'", "''") + "'"
}

// Parse parses name from fsys (FS when nil) with the escapers, the extra
// functions, and the templates of also alongside so name can call them
// by their base name. A missing key is an error when executed.
func Parse(fsys fs.FS, name string, extra template.FuncMap, also ...string) (*template.Template, error) {
	return ParseWithHead(fsys, name, "", extra, also...)
}

// ParseWithHead parses name with head (a library such as lib.sh) put
// before its text.
func ParseWithHead(fsys fs.FS, name, head string, extra template.FuncMap, also ...string) (*template.Template, error) {
	if fsys == nil {
		fsys = FS
	}
	t := template.New(path.Base(name)).Option("missingkey=error").Funcs(funcsFor(name, extra))
	for i, n := range append([]string{name}, also...) {
		src, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		text := string(src)
		if i == 0 {
			text = head + text
		}
		if _, err := t.New(path.Base(n)).Parse(text); err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
	}
	return t.Lookup(path.Base(name)), nil
}

func funcsFor(name string, extra template.FuncMap) template.FuncMap {
	m := template.FuncMap{}
	for k, v := range Funcs {
		m[k] = v
	}
	if IsShell(name) {
		m["q"] = Sh
	}
	for k, v := range extra {
		if k == "q" {
			continue // q is sh in shell scripts and nothing elsewhere
		}
		m[k] = v
	}
	return m
}

// Execute renders a parsed template.
func Execute(t *template.Template, data any) ([]byte, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return b.Bytes(), nil
}

// Render parses and renders templates/<name> with data.
func Render(name string, data any, extra template.FuncMap, also ...string) ([]byte, error) {
	t, err := Parse(nil, name, extra, also...)
	if err != nil {
		return nil, err
	}
	return Execute(t, data)
}
