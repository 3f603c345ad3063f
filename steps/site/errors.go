package site

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field of the site file.
type FieldError struct {
	// Field is the path of the field: "hosts[1].address".
	Field string
	// Line is the line in the site file, when known.
	Line int
	// Problem says what is wrong; Fix says what to do.
	Problem string
	Fix     string
}

// MaxLine is the longest an error line may be: a value given in the
// site file is cut, never printed whole.
const MaxLine = 280

func (e FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Field != "" {
		b.WriteString(cut(e.Field, 80) + ": ")
	}
	problem, fix := e.Problem, e.Fix
	if room := MaxLine - b.Len() - len(fix) - 2; len(problem) > room {
		problem = cut(problem, max(room, 100))
	}
	b.WriteString(problem)
	if fix != "" {
		b.WriteString("; " + cut(fix, max(MaxLine-b.Len()-2, 60)))
	}
	return b.String()
}

// Errors is every problem found in a site file.
type Errors []FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Field returns the first error about field, if any.
func (es Errors) Field(field string) (FieldError, bool) {
	for _, e := range es {
		if e.Field == field {
			return e, true
		}
	}
	return FieldError{}, false
}

func (es *Errors) add(field, fix, problem string, args ...any) {
	*es = append(*es, FieldError{Field: field, Problem: fmt.Sprintf(problem, args...), Fix: fix})
}

func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
