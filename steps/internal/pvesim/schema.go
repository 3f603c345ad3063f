package pvesim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// schemaJSON is the parameter schema of the simulated endpoints, taken
// from PVE's published API description by schema_gen.go.
//
//go:embed schema.json
var schemaJSON []byte

type schema struct {
	Source    string               `json:"source"`
	Endpoints map[string]*endpoint `json:"endpoints"`
}

type endpoint struct {
	Params  map[string]*param `json:"params"`
	Returns string            `json:"returns"`
}

type param struct {
	Type       string            `json:"type"`
	Optional   bool              `json:"optional"`
	Enum       []string          `json:"enum"`
	Minimum    *float64          `json:"minimum"`
	Maximum    *float64          `json:"maximum"`
	MaxLength  *float64          `json:"maxLength"`
	Pattern    string            `json:"pattern"`
	Format     string            `json:"format"`
	Alias      string            `json:"alias"`
	KeyAlias   string            `json:"keyAlias"`
	DefaultKey bool              `json:"default_key"`
	Sub        map[string]*param `json:"sub"`
}

func loadSchema() (*schema, error) {
	var sc schema
	if err := json.Unmarshal(schemaJSON, &sc); err != nil {
		return nil, fmt.Errorf("pvesim: schema.json: %w", err)
	}
	return &sc, nil
}

// lookup finds the schema of a parameter, trying "net[n]" for "net0".
func (ep *endpoint) lookup(name string) (*param, bool) {
	if p, ok := ep.Params[name]; ok {
		return p, true
	}
	base := strings.TrimRight(name, "0123456789")
	if base != name && base != "" {
		if p, ok := ep.Params[base+"[n]"]; ok {
			return p, true
		}
	}
	return nil, false
}

// validate checks every parameter of a call, as PVE's JSONSchema does
// before the handler runs.
func (sc *schema) validate(key string, params map[string]string) *apiError {
	ep, ok := sc.Endpoints[key]
	if !ok {
		return errServer("pvesim: no schema for %s", key)
	}
	errs := map[string]string{}
	for name, value := range params {
		p, ok := ep.lookup(name)
		if !ok {
			errs[name] = "property is not defined in schema and the schema does not allow additional properties"
			continue
		}
		if msg := p.check(value); msg != "" {
			errs[name] = msg
		}
	}
	for name, p := range ep.Params {
		if p.Optional || strings.HasSuffix(name, "[n]") {
			continue
		}
		if _, ok := params[name]; !ok {
			errs[name] = "property is missing and it is not optional"
		}
	}
	if len(errs) > 0 {
		return errParams(errs)
	}
	return nil
}

var (
	intRE     = regexp.MustCompile(`^[+-]?\d+$`)
	numberRE  = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$`)
	formatRes = map[string]*regexp.Regexp{
		"pve-node":       regexp.MustCompile(`^(?i:[a-z0-9]([a-z0-9\-]*[a-z0-9])?)$`),
		"pve-configid":   regexp.MustCompile(`^(?i:[a-z][a-z0-9_-]+)$`),
		"pve-storage-id": regexp.MustCompile(`^(?i:[a-z][a-z0-9\-\_\.]*[a-z0-9])$`),
		"pve-bridge-id":  regexp.MustCompile(`^[-_.\w\d]+$`),
		"urlencoded":     regexp.MustCompile(`^[-%a-zA-Z0-9_.!~*'()]*$`),
		"dns-name":       regexp.MustCompile(`^(?i:([a-z0-9]([a-z0-9\-]*[a-z0-9])?\.)*[a-z0-9]([a-z0-9\-]*[a-z0-9])?)$`),
		"mac-addr":       regexp.MustCompile(`^(?i:[a-f0-9][02468ace](?::[a-f0-9]{2}){5})$`),
		"pve-tag":        regexp.MustCompile(`^(?i:[a-z0-9_][a-z0-9_\-+.]*)$`),
	}
)

func isBool(v string) bool {
	switch strings.ToLower(v) {
	case "0", "1", "true", "false", "yes", "no", "on", "off":
		return true
	}
	return false
}

func boolOf(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// check validates one value; "" means valid.
func (p *param) check(v string) string {
	switch p.Type {
	case "integer":
		if !intRE.MatchString(v) {
			return fmt.Sprintf("type check ('integer') failed - got '%s'", v)
		}
	case "number":
		if !numberRE.MatchString(v) {
			return fmt.Sprintf("type check ('number') failed - got '%s'", v)
		}
	case "boolean":
		if !isBool(v) {
			return fmt.Sprintf("type check ('boolean') failed - got '%s'", v)
		}
	}
	if p.Type == "integer" || p.Type == "number" {
		f, _ := strconv.ParseFloat(v, 64)
		if p.Minimum != nil && f < *p.Minimum {
			return fmt.Sprintf("value must have a minimum value of %v", *p.Minimum)
		}
		if p.Maximum != nil && f > *p.Maximum {
			return fmt.Sprintf("value must have a maximum value of %v", *p.Maximum)
		}
	}
	if p.MaxLength != nil && float64(len(v)) > *p.MaxLength {
		return fmt.Sprintf("value may only be %v characters long", *p.MaxLength)
	}
	if len(p.Enum) > 0 {
		found := false
		for _, e := range p.Enum {
			if e == v {
				found = true
			}
		}
		if !found {
			return fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", v, strings.Join(p.Enum, ", "))
		}
	}
	if p.Pattern != "" {
		re, err := regexp.Compile("^(?:" + p.Pattern + ")$")
		if err == nil && !re.MatchString(v) {
			return "value does not match the regex pattern"
		}
	}
	if p.Sub != nil {
		if _, msg := parsePropertyString(p.Sub, v); msg != "" {
			return "invalid format - " + msg
		}
		return ""
	}
	return checkFormat(p.Format, v)
}

// checkFormat validates the named formats the simulated calls use.
func checkFormat(format, v string) string {
	switch format {
	case "":
		return ""
	case "pve-tag-list":
		for _, t := range splitList(v) {
			if !formatRes["pve-tag"].MatchString(t) {
				return fmt.Sprintf("invalid format - invalid tag '%s'", t)
			}
		}
	case "urlencoded":
		if !formatRes[format].MatchString(v) {
			return "invalid format - invalid urlencoded string: " + v
		}
	case "pve-qm-ipconfig":
		if _, msg := parseIPConfig(v); msg != "" {
			return "invalid format - " + msg
		}
	default:
		if re, ok := formatRes[format]; ok && !re.MatchString(v) {
			return fmt.Sprintf("invalid format - value does not look like a valid %s", format)
		}
	}
	return ""
}

// splitList splits a PVE list (tags, nameservers) on ; , and spaces.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == ' ' })
}

// propertyString is a parsed property string: key -> value, in order.
type propertyString struct {
	keys   []string
	values map[string]string
}

func (ps *propertyString) get(k string) string { return ps.values[k] }

func (ps *propertyString) set(k, v string) {
	if _, ok := ps.values[k]; !ok {
		ps.keys = append(ps.keys, k)
	}
	ps.values[k] = v
}

func (ps *propertyString) del(k string) {
	delete(ps.values, k)
	for i, x := range ps.keys {
		if x == k {
			ps.keys = append(ps.keys[:i], ps.keys[i+1:]...)
			return
		}
	}
}

// String prints the property string, the default key's value first
// without its key, as PVE prints drives.
func (ps *propertyString) print(defaultKey string) string {
	var parts []string
	if v, ok := ps.values[defaultKey]; ok && defaultKey != "" {
		parts = append(parts, v)
	}
	for _, k := range ps.keys {
		if k == defaultKey {
			continue
		}
		parts = append(parts, k+"="+ps.values[k])
	}
	return strings.Join(parts, ",")
}

// parsePropertyString parses "a,b=c,..." against a format: PVE's
// parse_property_string, with the default key and key aliases
// ("virtio=MAC" means model=virtio, macaddr=MAC).
func parsePropertyString(format map[string]*param, v string) (*propertyString, string) {
	ps := &propertyString{values: map[string]string{}}
	defaultKey := ""
	for k, p := range format {
		if p.DefaultKey {
			defaultKey = k
		}
	}
	for _, part := range strings.Split(v, ",") {
		if part == "" {
			continue
		}
		k, val, hasKey := strings.Cut(part, "=")
		if !hasKey {
			if defaultKey == "" {
				return nil, fmt.Sprintf("value without key, but schema does not define a default key")
			}
			if _, dup := ps.values[defaultKey]; dup {
				return nil, fmt.Sprintf("format error\n%s: duplicate key in comma-separated list property", defaultKey)
			}
			k, val = defaultKey, part
		}
		p, ok := format[k]
		if !ok {
			return nil, fmt.Sprintf("format error\n%s: property is not defined in schema and the schema does not allow additional properties", k)
		}
		if p.Alias != "" {
			if p.KeyAlias != "" {
				ps.set(p.KeyAlias, k)
			}
			k, p = p.Alias, format[p.Alias]
			if p == nil {
				continue
			}
		}
		if _, dup := ps.values[k]; dup {
			return nil, fmt.Sprintf("format error\n%s: duplicate key in comma-separated list property", k)
		}
		if msg := p.check(val); msg != "" {
			return nil, fmt.Sprintf("format error\n%s: %s", k, msg)
		}
		ps.set(k, val)
	}
	for k, p := range format {
		if !p.Optional && p.Alias == "" {
			if _, ok := ps.values[k]; !ok {
				return nil, fmt.Sprintf("format error\n%s: property is missing and it is not optional", k)
			}
		}
	}
	return ps, ""
}

// ipConfig is a parsed ipconfigN.
type ipConfig struct {
	IP, GW, IP6, GW6 string
}

// parseIPConfig follows qemu-server's ipconfig format and parse_ipconfig.
func parseIPConfig(v string) (ipConfig, string) {
	var c ipConfig
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return c, "format error\nip: value without key, but schema does not define a default key"
		}
		switch k {
		case "ip":
			if val != "dhcp" && val != "manual" {
				if p, err := netip.ParsePrefix(val); err != nil || !p.Addr().Is4() {
					return c, "format error\nip: value does not look like a valid ipv4 network configuration"
				}
			}
			c.IP = val
		case "gw":
			if a, err := netip.ParseAddr(val); err != nil || !a.Is4() {
				return c, "format error\ngw: value does not look like a valid IPv4 address"
			}
			c.GW = val
		case "ip6":
			c.IP6 = val
		case "gw6":
			c.GW6 = val
		default:
			return c, fmt.Sprintf("format error\n%s: property is not defined in schema and the schema does not allow additional properties", k)
		}
	}
	if c.GW != "" && c.IP == "" {
		return c, "gateway specified without specifying an IP address"
	}
	if c.GW != "" && c.IP == "dhcp" {
		return c, "gateway specified together with DHCP"
	}
	return c, ""
}

// jsonValue renders a config value the way PVE's JSON output types it:
// integers, numbers and booleans of the schema as JSON numbers.
func (ep *endpoint) jsonValue(name, v string) any {
	p, ok := ep.lookup(name)
	if !ok {
		return v
	}
	switch p.Type {
	case "integer":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case "number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	case "boolean":
		if boolOf(v) {
			return 1
		}
		return 0
	}
	return v
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
