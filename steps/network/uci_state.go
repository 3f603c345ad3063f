package network

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// UCIState is a router's UCI configuration as `uci show` prints it, held
// in memory so a batch can be tried on it: Check applies the rendered
// batch to the live state and the step is done when nothing changes.
type UCIState struct {
	configs map[string]*uciConfig
	order   []string
}

type uciConfig struct {
	sections []*uciSection
}

type uciSection struct {
	name    string // "" for an anonymous section
	typ     string
	options map[string][]string
	keys    []string
}

// ParseUCIShow reads the output of `uci show CONFIG` (one or several
// configs). Anonymous sections appear as @type[index], in order.
func ParseUCIShow(text string) (*UCIState, error) {
	st := &UCIState{configs: map[string]*uciConfig{}}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		ref, val, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("uci show line %d: %q has no =", i+1, line)
		}
		var c UCICommand
		if err := c.parseRef(ref); err != nil {
			return nil, fmt.Errorf("uci show line %d: %w", i+1, err)
		}
		if c.Section == "" {
			return nil, fmt.Errorf("uci show line %d: %q names no section", i+1, line)
		}
		cfg := st.config(c.Config)
		if c.Option == "" {
			name := c.Section
			if uciAnonRE.MatchString(name) {
				name = ""
			}
			cfg.sections = append(cfg.sections, &uciSection{name: name, typ: val, options: map[string][]string{}})
			continue
		}
		sec, err := st.find(c.Config, c.Section)
		if err != nil {
			return nil, fmt.Errorf("uci show line %d: %w", i+1, err)
		}
		vals, err := uciTokens(val)
		if err != nil {
			return nil, fmt.Errorf("uci show line %d: %w", i+1, err)
		}
		sec.set(c.Option, vals)
	}
	return st, nil
}

func (st *UCIState) config(name string) *uciConfig {
	c := st.configs[name]
	if c == nil {
		c = &uciConfig{}
		st.configs[name] = c
		st.order = append(st.order, name)
	}
	return c
}

// find resolves a section name or @type[index] (negative from the end).
func (st *UCIState) find(config, ref string) (*uciSection, error) {
	c := st.configs[config]
	if c == nil {
		return nil, fmt.Errorf("config %q does not exist", config)
	}
	if m := uciAnonRE.FindStringSubmatch(ref); m != nil {
		idx, _ := strconv.Atoi(m[2])
		var of []*uciSection
		for _, s := range c.sections {
			if s.typ == m[1] {
				of = append(of, s)
			}
		}
		if idx < 0 {
			idx += len(of)
		}
		if idx < 0 || idx >= len(of) {
			return nil, fmt.Errorf("%s.%s does not exist", config, ref)
		}
		return of[idx], nil
	}
	for _, s := range c.sections {
		if s.name == ref {
			return s, nil
		}
	}
	return nil, fmt.Errorf("%s.%s does not exist", config, ref)
}

func (s *uciSection) set(opt string, vals []string) {
	if _, ok := s.options[opt]; !ok {
		s.keys = append(s.keys, opt)
	}
	s.options[opt] = vals
}

func (s *uciSection) del(opt string) {
	if _, ok := s.options[opt]; !ok {
		return
	}
	delete(s.options, opt)
	for i, k := range s.keys {
		if k == opt {
			s.keys = append(s.keys[:i], s.keys[i+1:]...)
			break
		}
	}
}

// Clone returns a deep copy.
func (st *UCIState) Clone() *UCIState {
	out := &UCIState{configs: map[string]*uciConfig{}, order: append([]string(nil), st.order...)}
	for name, c := range st.configs {
		nc := &uciConfig{}
		for _, s := range c.sections {
			ns := &uciSection{name: s.name, typ: s.typ, options: map[string][]string{}, keys: append([]string(nil), s.keys...)}
			for k, v := range s.options {
				ns.options[k] = append([]string(nil), v...)
			}
			nc.sections = append(nc.sections, ns)
		}
		out.configs[name] = nc
	}
	return out
}

// Apply runs batch commands on the state as uci would, without commit
// semantics (commit and revert are accepted and ignored).
func (st *UCIState) Apply(cmds []UCICommand) error {
	for _, c := range cmds {
		if err := st.apply(c); err != nil {
			return fmt.Errorf("uci batch line %d: %s: %w", c.Line, c.Op, err)
		}
	}
	return nil
}

func (st *UCIState) apply(c UCICommand) error {
	switch c.Op {
	case "commit", "revert":
		return nil
	case "add":
		cfg := st.config(c.Config)
		cfg.sections = append(cfg.sections, &uciSection{typ: c.Value, options: map[string][]string{}})
		return nil
	}
	if c.Option == "" && c.Op == "set" {
		if uciAnonRE.MatchString(c.Section) {
			sec, err := st.find(c.Config, c.Section)
			if err != nil {
				return err
			}
			sec.typ = c.Value
			return nil
		}
		cfg := st.config(c.Config)
		if sec, err := st.find(c.Config, c.Section); err == nil {
			sec.typ = c.Value
			return nil
		}
		cfg.sections = append(cfg.sections, &uciSection{name: c.Section, typ: c.Value, options: map[string][]string{}})
		return nil
	}
	sec, err := st.find(c.Config, c.Section)
	if err != nil {
		// uci -q delete of a missing entry is a no-op, and so is setting
		// a missing option to '' (uci set with an empty value deletes).
		if c.Op == "delete" || (c.Op == "set" && c.Value == "") {
			return nil
		}
		return err
	}
	switch c.Op {
	case "set":
		if c.Value == "" {
			sec.del(c.Option)
			return nil
		}
		sec.set(c.Option, []string{c.Value})
	case "add_list":
		sec.set(c.Option, append(append([]string(nil), sec.options[c.Option]...), c.Value))
	case "del_list":
		var keep []string
		for _, v := range sec.options[c.Option] {
			if v != c.Value {
				keep = append(keep, v)
			}
		}
		if len(keep) == 0 {
			sec.del(c.Option)
		} else {
			sec.set(c.Option, keep)
		}
	case "delete":
		if c.Option != "" {
			sec.del(c.Option)
			return nil
		}
		cfg := st.configs[c.Config]
		for i, s := range cfg.sections {
			if s == sec {
				cfg.sections = append(cfg.sections[:i], cfg.sections[i+1:]...)
				break
			}
		}
	case "rename":
		if c.Option != "" {
			vals := sec.options[c.Option]
			sec.del(c.Option)
			sec.set(c.Value, vals)
			return nil
		}
		sec.name = c.Value
	case "reorder":
		cfg := st.configs[c.Config]
		pos, err := strconv.Atoi(c.Value)
		if err != nil {
			return fmt.Errorf("reorder position %q is not a number", c.Value)
		}
		for i, s := range cfg.sections {
			if s == sec {
				cfg.sections = append(cfg.sections[:i], cfg.sections[i+1:]...)
				break
			}
		}
		if pos > len(cfg.sections) {
			pos = len(cfg.sections)
		}
		cfg.sections = append(cfg.sections[:pos], append([]*uciSection{sec}, cfg.sections[pos:]...)...)
	}
	return nil
}

// Show prints the state as `uci show` does, anonymous sections as
// @type[index].
func (st *UCIState) Show(configs ...string) string {
	if len(configs) == 0 {
		configs = append([]string(nil), st.order...)
	}
	var b strings.Builder
	for _, name := range configs {
		c := st.configs[name]
		if c == nil {
			continue
		}
		count := map[string]int{}
		for _, s := range c.sections {
			ref := s.name
			if ref == "" {
				ref = fmt.Sprintf("@%s[%d]", s.typ, count[s.typ])
			}
			count[s.typ]++
			fmt.Fprintf(&b, "%s.%s=%s\n", name, ref, s.typ)
			for _, k := range s.keys {
				q := make([]string, len(s.options[k]))
				for i, v := range s.options[k] {
					q[i] = uciQuote(v)
				}
				fmt.Fprintf(&b, "%s.%s.%s=%s\n", name, ref, k, strings.Join(q, " "))
			}
		}
	}
	return b.String()
}

// Sections lists (name or @type[i], type) of a config's sections.
func (st *UCIState) Sections(config string) [][2]string {
	c := st.configs[config]
	if c == nil {
		return nil
	}
	var out [][2]string
	count := map[string]int{}
	for _, s := range c.sections {
		ref := s.name
		if ref == "" {
			ref = fmt.Sprintf("@%s[%d]", s.typ, count[s.typ])
		}
		count[s.typ]++
		out = append(out, [2]string{ref, s.typ})
	}
	return out
}

// Get returns an option's values and whether it is set.
func (st *UCIState) Get(config, section, option string) ([]string, bool) {
	sec, err := st.find(config, section)
	if err != nil {
		return nil, false
	}
	v, ok := sec.options[option]
	return v, ok
}

// UCIDiff lists the lines of `uci show` that differ between two states
// ("-" only in a, "+" only in b), sorted; the order of options does not
// count.
func UCIDiff(a, b *UCIState, configs ...string) []string {
	la, lb := lineSet(a.Show(configs...)), lineSet(b.Show(configs...))
	var out []string
	for l := range la {
		if !lb[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range lb {
		if !la[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return out
}

func lineSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		if l != "" {
			m[l] = true
		}
	}
	return m
}
