package apps

import (
	"fmt"
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

// convertOption checks v against the option type and returns it in the
// type templates get: string, int, bool or []string.
func convertOption(typ string, v any) (any, error) {
	switch typ {
	case OptString:
		switch x := v.(type) {
		case string:
			if strings.ContainsAny(x, "\"\n\\`$") {
				return nil, fmt.Errorf("%q: no quotes, backslashes, $ or newlines, please", x)
			}
			return x, nil
		case int, float64:
			return fmt.Sprint(x), nil
		}
		return nil, fmt.Errorf("%v is not a string", v)
	case OptInt:
		switch x := v.(type) {
		case int:
			return x, nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
		}
		return nil, fmt.Errorf("%v is not a whole number", v)
	case OptBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, fmt.Errorf("%v is not true or false", v)
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
				if !ok || s == "" || strings.ContainsAny(s, " \t\"'\n\\`$;,") {
					return nil, fmt.Errorf("list item %v: give plain names (letters, digits, - _ . / @ :)", e)
				}
				out = append(out, s)
			}
		default:
			return nil, fmt.Errorf("%v is not a list", v)
		}
		if out == nil {
			out = []string{}
		}
		return out, nil
	}
	return nil, fmt.Errorf("type %q is not string, int, bool or list", typ)
}

// ParseOptions returns the app's options: each given value checked
// against its type, the defaults for the rest. An unknown option is an
// error with a did-you-mean.
func (a *App) ParseOptions(raw map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for name, o := range a.Options {
		v, err := convertOption(o.Type, o.Default)
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
			return nil, fmt.Errorf("components.%s.options.%s: unknown option; %s", a.Name, k, fix)
		}
		v, err := convertOption(o.Type, raw[k])
		if err != nil {
			return nil, fmt.Errorf("components.%s.options.%s: %v", a.Name, k, err)
		}
		out[k] = v
	}
	return out, nil
}
