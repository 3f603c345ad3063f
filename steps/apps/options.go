package apps

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/site"
)

// Option types.
const (
	OptString = "string"
	OptInt    = "int"
	OptBool   = "bool"
	OptList   = "list"
)

// String option kinds and their checks; "" is text.
var optionKinds = []string{"", "text", "ipv4", "size", "hostport"}

var kindChecks = map[string]func(string) *site.FieldError{
	"": site.CheckText, "text": site.CheckText, "ipv4": site.CheckIPv4, "size": site.CheckSize, "hostport": site.CheckHostPort,
}

// listItemRE is what a list option's items may be: plain names, networks
// and versions (letters, digits and - _ . / @ :).
var listItemRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/@:-]{0,99}$`)

// convert checks v against the option's type, kind and range and
// returns it in the type templates get: string, int, bool or []string.
// An empty string is always allowed (it means "not set").
func (o Option) convert(v any) (any, error) {
	switch o.Type {
	case OptString:
		var x string
		switch t := v.(type) {
		case string:
			x = t
		case int, float64:
			x = fmt.Sprint(t)
		default:
			return nil, fmt.Errorf("%s is not a string", site.Show(fmt.Sprint(v)))
		}
		if x != "" {
			if e := kindChecks[o.Kind](x); e != nil {
				return nil, fmt.Errorf("%s; %s", e.Problem, e.Fix)
			}
		}
		return x, nil
	case OptInt:
		n, ok := 0, false
		switch x := v.(type) {
		case int:
			n, ok = x, true
		case float64:
			if x == float64(int(x)) {
				n, ok = int(x), true
			}
		}
		if !ok {
			return nil, fmt.Errorf("%s is not a whole number", site.Show(fmt.Sprint(v)))
		}
		if (o.Min != nil && n < *o.Min) || (o.Max != nil && n > *o.Max) {
			return nil, fmt.Errorf("%d is out of range: use a whole number from %d to %d", n, deref(o.Min), deref(o.Max))
		}
		return n, nil
	case OptBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%s is not true or false", site.Show(fmt.Sprint(v)))
	case OptList:
		var out []string
		switch x := v.(type) {
		case nil:
			return []string{}, nil
		case []string:
			out = append(out, x...)
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					s = fmt.Sprint(e)
				}
				out = append(out, s)
			}
		default:
			return nil, fmt.Errorf("%s is not a list", site.Show(fmt.Sprint(v)))
		}
		for _, s := range out {
			if !listItemRE.MatchString(s) {
				return nil, fmt.Errorf("list item %s: give plain names (letters, digits, - _ . / @ :)", site.Show(s))
			}
		}
		if out == nil {
			out = []string{}
		}
		return out, nil
	}
	return nil, fmt.Errorf("type %q is not string, int, bool or list", o.Type)
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// ParseOptions returns the app's options: each given value checked
// against its type, the defaults for the rest. An unknown option is an
// error with a did-you-mean.
func (a *App) ParseOptions(raw map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for name, o := range a.Options {
		v, err := o.convert(o.Default)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		o, ok := a.Options[k]
		if !ok {
			known := make([]string, 0, len(a.Options))
			for n := range a.Options {
				known = append(known, n)
			}
			sort.Strings(known)
			fix := "this app has no options"
			if s := site.Suggest(k, known); s != "" {
				fix = "did you mean " + s + "?"
			} else if len(known) > 0 {
				fix = "use " + strings.Join(known, ", ")
			}
			return nil, site.FieldError{Field: "components." + a.Name + ".options." + k, Problem: "unknown option", Fix: fix}
		}
		v, err := o.convert(raw[k])
		if err != nil {
			return nil, site.FieldError{Field: "components." + a.Name + ".options." + k, Problem: err.Error(), Fix: "see the options of " + a.Name + " in `collabstack apps`"}
		}
		out[k] = v
	}
	return out, nil
}
