package network

import (
	"bytes"
	"fmt"
	"strings"
	"text/template"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/templates"
)

var funcs = template.FuncMap{
	// q quotes a UCI value.
	"q": uciQuote,
	// sh quotes a value for a POSIX shell.
	"sh":   host.Quote,
	"join": strings.Join,
}

// render renders templates/network/<name> with data; extra names are
// parsed alongside so the main template can call them.
func render(name string, data any, extra ...string) ([]byte, error) {
	t := template.New(baseName(name)).Funcs(funcs).Option("missingkey=error")
	for _, n := range append([]string{name}, extra...) {
		src, err := templates.FS.ReadFile("network/" + n)
		if err != nil {
			return nil, fmt.Errorf("template network/%s: %w", n, err)
		}
		if _, err := t.New(baseName(n)).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("template network/%s: %w", n, err)
		}
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, baseName(name), data); err != nil {
		return nil, fmt.Errorf("render network/%s: %w", name, err)
	}
	return b.Bytes(), nil
}

func baseName(n string) string {
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		return n[i+1:]
	}
	return n
}
