package site

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Load reads, parses, fills defaults and validates the site file at path.
// catalog may be nil to skip checking component names.
func Load(path string, catalog Catalog) (*Site, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		fix := "check its permissions"
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fix = "give its path with --config, or write one with `collabstack init -o " + filepath.Base(path) + "`"
		case errors.Is(err, syscall.EISDIR):
			fix = "give the path of the site file, not of its folder"
		}
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, FieldError{Problem: fmt.Sprintf("cannot read the site file %s: %v", cut(path, 120), err), Fix: fix}
	}
	s, err := Parse(data)
	if err != nil {
		return nil, err
	}
	s.ApplyDefaults()
	if err := s.Validate(catalog); err != nil {
		return nil, err
	}
	s.ResolveStateDir(path)
	return s, nil
}

// Parse decodes a site file strictly: unknown keys are errors with a
// did-you-mean, and type errors name the field.
func Parse(data []byte) (*Site, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Errors{{Problem: "not valid YAML: " + cut(strings.TrimPrefix(err.Error(), "yaml: "), 200), Fix: "check the indentation and quoting around that line"}}
	}
	if len(doc.Content) == 0 {
		return nil, Errors{{Problem: "the site file is empty", Fix: "start from `collabstack init`"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{Line: root.Line, Problem: "the site file must be a mapping of keys (version:, topology:, ...)", Fix: "start from `collabstack init`"}}
	}
	var ctl Errors
	scanScalars(root, "", &ctl)
	if len(ctl) > 0 {
		return nil, ctl
	}
	w := &walker{lines: map[int]string{}}
	w.check(root, reflect.TypeOf(Site{}), "")
	if len(w.errs) > 0 {
		return nil, w.errs
	}
	var s Site
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, w.typeErrors(err)
	}
	return &s, nil
}

// maxNodes bounds the values a site file may expand to.
const maxNodes = 100000

type walker struct {
	visits int
	errs   Errors
	lines  map[int]string // line -> field path, to name fields in type errors
}

func (w *walker) check(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	// Aliases can make a small file a huge tree: stop counting at a size
	// no site file reaches.
	if w.visits++; w.visits > maxNodes {
		if w.visits == maxNodes+1 {
			w.errs = append(w.errs, FieldError{Field: path, Line: n.Line, Problem: "the YAML expands to too many values (aliases?)", Fix: "write the site file without repeated aliases"})
		}
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if path != "" {
		w.lines[n.Line] = path
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if n.Tag != "!!null" {
				w.errs = append(w.errs, FieldError{Field: path, Line: n.Line, Problem: fmt.Sprintf("expects a mapping of keys, not %s", Show(n.Value)), Fix: "see `collabstack init` for its shape"})
			}
			return
		}
		fields := yamlFields(t)
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		sortStrings(names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := join(path, cut(k.Value, 60))
			ft, ok := fields[k.Value]
			if !ok {
				w.errs = append(w.errs, FieldError{Field: sub, Line: k.Line, Problem: "unknown key", Fix: didYouMean(k.Value, names)})
				continue
			}
			w.lines[k.Line] = sub
			w.check(v, ft, sub)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode || t.Elem().Kind() == reflect.Interface {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.check(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, item := range n.Content {
			w.check(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// typeErrors rewrites yaml's "line 7: cannot unmarshal ..." into field errors.
func (w *walker) typeErrors(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return Errors{{Problem: err.Error()}}
	}
	var out Errors
	for _, msg := range te.Errors {
		fe := FieldError{Problem: cut(msg, 200), Fix: "check the value's type against `collabstack init`"}
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			fe.Line = line
			fe.Field = w.lines[line]
			fe.Problem = cut(strings.Replace(m[2], "cannot unmarshal", "has the wrong type:", 1), 200)
			if strings.Contains(fe.Field, "password_ref") {
				// Never repeat what may be a password.
				fe.Problem = "has the wrong type: give the name of a secret"
			}
		}
		out = append(out, fe)
	}
	return out
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "-" || !f.IsExported() {
			continue
		}
		if tag == "" {
			tag = strings.ToLower(f.Name)
		}
		out[tag] = f.Type
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// ResolveStateDir makes StateDir absolute, relative to the site file.
func (s *Site) ResolveStateDir(sitePath string) {
	if s.StateDir == "" {
		base := filepath.Base(sitePath)
		s.StateDir = strings.TrimSuffix(base, filepath.Ext(base)) + ".state"
	}
	if !filepath.IsAbs(s.StateDir) {
		s.StateDir = filepath.Join(filepath.Dir(sitePath), s.StateDir)
	}
}

// Marshal renders the site file as YAML (the wizard writes it with 0600).
func (s *Site) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# collabstack site file: `collabstack apply --config FILE` repeats this install.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// scanScalars refuses line breaks and other control characters in every
// key and value of the file: no value of a site file is more than one
// line, and a newline is how a value escapes its place in a config file.
func scanScalars(n *yaml.Node, path string, es *Errors) {
	if len(*es) >= 20 {
		return
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if hasControl(n.Value) {
			fix := "write the value on one line, without control characters"
			if strings.Contains(path, "password_ref") {
				*es = append(*es, FieldError{Field: path, Line: n.Line, Problem: "has a line break or control character", Fix: fix})
				return
			}
			*es = append(*es, FieldError{Field: path, Line: n.Line, Problem: Show(n.Value) + " has a line break or control character", Fix: fix})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if hasControl(k.Value) {
				*es = append(*es, FieldError{Field: path, Line: k.Line, Problem: "the key " + Show(k.Value) + " has a line break or control character", Fix: "write keys on one line"})
				continue
			}
			scanScalars(v, join(path, cut(k.Value, 60)), es)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			scanScalars(item, fmt.Sprintf("%s[%d]", path, i), es)
		}
	case yaml.DocumentNode:
		for _, c := range n.Content {
			scanScalars(c, path, es)
		}
	}
}

// cut shortens s to at most n bytes (on a rune boundary), saying how long
// it was.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf("… (%d characters)", len(s))
}
