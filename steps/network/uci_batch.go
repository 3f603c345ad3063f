package network

import (
	"fmt"
	"regexp"
	"strings"
)

// UCICommand is one line of a `uci batch` file.
type UCICommand struct {
	Line    int
	Op      string // set, add_list, del_list, delete, add, rename, reorder, commit, revert
	Config  string
	Section string // a name or @type[index]
	Option  string // "" for a section-level command
	Value   string // set/add_list/del_list value, add's type, rename's new name
	HasVal  bool
}

var (
	uciNameRE = regexp.MustCompile(`^[a-zA-Z0-9_]+$`)
	uciAnonRE = regexp.MustCompile(`^@([a-zA-Z0-9_]+)\[(-?[0-9]+)\]$`)
)

// ParseUCIBatch parses the text of a `uci batch` file: one command per
// line, arguments quoted as uci's own parser reads them ('single' quotes
// taken literally, "double" quotes and bare words with backslash
// escapes, adjacent parts joined, # starting a comment). It refuses what
// uci would refuse, so a rendered batch is known to parse before it goes
// to a router.
func ParseUCIBatch(text string) ([]UCICommand, error) {
	var out []UCICommand
	for i, raw := range strings.Split(text, "\n") {
		n := i + 1
		args, err := uciTokens(raw)
		if err != nil {
			return nil, fmt.Errorf("uci batch line %d: %w", n, err)
		}
		if len(args) == 0 {
			continue
		}
		c, err := uciCommand(n, args)
		if err != nil {
			return nil, fmt.Errorf("uci batch line %d (%s): %w", n, strings.TrimSpace(raw), err)
		}
		out = append(out, c)
	}
	return out, nil
}

func uciCommand(n int, args []string) (UCICommand, error) {
	c := UCICommand{Line: n, Op: args[0]}
	want := func(k int) error {
		if len(args) != k {
			return fmt.Errorf("%s takes %d argument(s), got %d", c.Op, k-1, len(args)-1)
		}
		return nil
	}
	switch c.Op {
	case "set", "add_list", "del_list", "rename", "delete", "reorder":
		if err := want(2); err != nil {
			return c, err
		}
		ref, val, hasVal := strings.Cut(args[1], "=")
		c.Value, c.HasVal = val, hasVal
		if err := c.parseRef(ref); err != nil {
			return c, err
		}
		switch c.Op {
		case "set", "rename", "reorder":
			if !hasVal {
				return c, fmt.Errorf("%s needs a value after =", c.Op)
			}
		case "add_list", "del_list":
			if !hasVal || c.Option == "" {
				return c, fmt.Errorf("%s needs config.section.option=value", c.Op)
			}
		case "delete":
			if hasVal && c.Option == "" {
				return c, fmt.Errorf("delete of a whole section takes no value")
			}
		}
		if c.Op == "set" && c.Option == "" && !uciNameRE.MatchString(c.Value) {
			return c, fmt.Errorf("section type %q is not a valid name", c.Value)
		}
		if c.Op == "rename" && !uciNameRE.MatchString(c.Value) {
			return c, fmt.Errorf("new name %q is not a valid name", c.Value)
		}
		if c.Section == "" {
			return c, fmt.Errorf("%s needs config.section", c.Op)
		}
	case "add":
		if err := want(3); err != nil {
			return c, err
		}
		c.Config, c.Value, c.HasVal = args[1], args[2], true
		if !uciNameRE.MatchString(c.Config) || !uciNameRE.MatchString(c.Value) {
			return c, fmt.Errorf("add needs a config and a section type")
		}
	case "commit", "revert":
		if len(args) > 2 {
			return c, fmt.Errorf("%s takes at most one config", c.Op)
		}
		if len(args) == 2 {
			if err := c.parseRef(args[1]); err != nil {
				return c, err
			}
		}
	default:
		return c, fmt.Errorf("unknown command %q", c.Op)
	}
	return c, nil
}

func (c *UCICommand) parseRef(ref string) error {
	parts := strings.SplitN(ref, ".", 3)
	c.Config = parts[0]
	if !uciNameRE.MatchString(c.Config) {
		return fmt.Errorf("%q is not a valid config name", c.Config)
	}
	if len(parts) > 1 {
		c.Section = parts[1]
		if !uciNameRE.MatchString(c.Section) && !uciAnonRE.MatchString(c.Section) {
			return fmt.Errorf("%q is not a valid section name", c.Section)
		}
	}
	if len(parts) > 2 {
		c.Option = parts[2]
		if !uciNameRE.MatchString(c.Option) {
			return fmt.Errorf("%q is not a valid option name", c.Option)
		}
	}
	return nil
}

// uciTokens splits a line as uci's parser does.
func uciTokens(line string) ([]string, error) {
	var out []string
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			return out, nil
		}
		var b strings.Builder
		for i < len(line) && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' {
			switch line[i] {
			case '\'':
				j := strings.IndexByte(line[i+1:], '\'')
				if j < 0 {
					return nil, fmt.Errorf("unterminated ' quote")
				}
				b.WriteString(line[i+1 : i+1+j])
				i += j + 2
			case '"':
				i++
				closed := false
				for i < len(line) {
					if line[i] == '\\' && i+1 < len(line) {
						b.WriteByte(line[i+1])
						i += 2
						continue
					}
					if line[i] == '"' {
						closed = true
						i++
						break
					}
					b.WriteByte(line[i])
					i++
				}
				if !closed {
					return nil, fmt.Errorf("unterminated \" quote")
				}
			case '\\':
				if i+1 >= len(line) {
					return nil, fmt.Errorf("backslash at the end of the line")
				}
				b.WriteByte(line[i+1])
				i += 2
			default:
				b.WriteByte(line[i])
				i++
			}
		}
		out = append(out, b.String())
	}
}

// uciQuote quotes a value the way `uci show` prints it and uci reads it:
// single quotes; a quote inside closes the quotes, is escaped with a
// backslash and opens them again, as in a POSIX shell.
func uciQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
