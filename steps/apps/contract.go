package apps

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ContractFile is the upstream contract beside an app's templates.
const ContractFile = "contract.yaml"

// Contract is an app's upstream contract (templates/apps/<app>/contract.yaml,
// issue 15): every environment variable, mounted path, port and config key
// the stack relies on, each with the upstream file that reads it. The
// contract test (contract_test.go) fails when a rendered stack sets
// something its contract does not list.
type Contract struct {
	// Sources are the upstream files read, by a name entries refer to.
	Sources map[string]Source `yaml:"sources"`
	// Services are the stack's services, by their name in stack.yaml.tmpl.
	Services map[string]ServiceContract `yaml:"services"`
	// Proven says what a lab test proved live, and which test.
	Proven string `yaml:"proven"`
	// Manual says what still needs a manual step after install.
	Manual string `yaml:"manual"`
}

// Source is one upstream file: repository URL, commit or tag, path.
type Source struct {
	Repo string `yaml:"repo"`
	Ref  string `yaml:"ref"`
	Path string `yaml:"path"`
	// Note (optional) says what in the file matters.
	Note string `yaml:"note,omitempty"`
}

// ServiceContract lists what one service relies on.
type ServiceContract struct {
	Env map[string]Entry `yaml:"env"`
	// Files are paths; a key with * or ? is a pattern (path.Match), for
	// what upstream reads by pattern (nginx's conf.d/*.conf).
	Files map[string]Entry `yaml:"files"`
	// Ports are container ports: "80", a range "49160-49259", either
	// with an optional "/tcp" or "/udp".
	Ports map[string]Entry `yaml:"ports"`
	// Keys are config keys the templates set: "file: key".
	Keys map[string]Entry `yaml:"keys"`
}

// Entry is one listed item and the source that reads it.
type Entry struct {
	Source string `yaml:"source"`
	Note   string `yaml:"note,omitempty"`
}

// Contract reads an app's contract strictly (an unknown key is an error
// naming the file) and checks that every entry names a source and every
// source has repo, ref and path. fs.ErrNotExist when the app has none.
func (c *Catalog) Contract(app string) (*Contract, error) {
	if _, ok := c.apps[app]; !ok {
		return nil, fmt.Errorf("%q is not in the app catalog", app)
	}
	file := app + "/" + ContractFile
	data, err := fs.ReadFile(c.fsys, file)
	if err != nil {
		return nil, err
	}
	return ParseContract(file, data)
}

// ParseContract decodes and checks a contract; file names it in errors.
func ParseContract(file string, data []byte) (*Contract, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var ct Contract
	if err := dec.Decode(&ct); err != nil {
		return nil, fmt.Errorf("templates/apps/%s: %w", file, err)
	}
	if errs := ct.check(); len(errs) > 0 {
		return &ct, fmt.Errorf("templates/apps/%s:\n  %s", file, strings.Join(errs, "\n  "))
	}
	return &ct, nil
}

func (ct *Contract) check() []string {
	var errs []string
	for _, name := range sortedKeys(ct.Sources) {
		s := ct.Sources[name]
		var missing []string
		if u, err := url.Parse(s.Repo); err != nil || u.Scheme != "https" || u.Host == "" {
			missing = append(missing, "repo (the repository's https URL)")
		}
		if strings.TrimSpace(s.Ref) == "" {
			missing = append(missing, "ref (a commit SHA or a release tag)")
		}
		if strings.TrimSpace(s.Path) == "" {
			missing = append(missing, "path (the file in that repository)")
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Sprintf("sources.%s: give %s", name, strings.Join(missing, ", ")))
		}
	}
	if len(ct.Services) == 0 {
		errs = append(errs, "services: list the stack's services")
	}
	for _, svc := range sortedKeys(ct.Services) {
		sc := ct.Services[svc]
		for kind, m := range map[string]map[string]Entry{"env": sc.Env, "files": sc.Files, "ports": sc.Ports, "keys": sc.Keys} {
			for _, k := range sortedKeys(m) {
				where := fmt.Sprintf("services.%s.%s.%s", svc, kind, k)
				src := m[k].Source
				if src == "" {
					errs = append(errs, where+": give source: (an entry of sources)")
				} else if _, ok := ct.Sources[src]; !ok {
					errs = append(errs, fmt.Sprintf("%s: source %q is not an entry of sources: add it there with repo, ref and path", where, src))
				}
				if kind == "files" {
					if _, err := path.Match(k, ""); err != nil || !strings.HasPrefix(k, "/") {
						errs = append(errs, where+": give an absolute path (a pattern may use * ? [])")
					}
				}
				if kind == "ports" {
					if _, _, err := parsePortKey(k); err != nil {
						errs = append(errs, where+": "+err.Error())
					}
				}
			}
		}
	}
	sort.Strings(errs)
	return errs
}

// ListsFile says whether the service's contract covers path p: the
// path itself or a pattern matching it.
func (sc ServiceContract) ListsFile(p string) bool {
	if _, ok := sc.Files[p]; ok {
		return true
	}
	for k := range sc.Files {
		if strings.ContainsAny(k, "*?[") {
			if ok, err := path.Match(k, p); err == nil && ok {
				return true
			}
		}
	}
	return false
}

// ListsPort says whether the service's contract covers container port p.
func (sc ServiceContract) ListsPort(p int) bool {
	for k := range sc.Ports {
		lo, hi, err := parsePortKey(k)
		if err == nil && lo <= p && p <= hi {
			return true
		}
	}
	return false
}

// parsePortKey reads "80", "80/tcp", "49160-49259" or "49160-49259/udp".
func parsePortKey(k string) (lo, hi int, err error) {
	s := k
	if i := strings.IndexByte(s, '/'); i >= 0 {
		if p := s[i+1:]; p != "tcp" && p != "udp" {
			return 0, 0, fmt.Errorf("%q: the protocol after / is tcp or udp", k)
		}
		s = s[:i]
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi = lo
	var err2 error
	if isRange {
		hi, err2 = strconv.Atoi(b)
	}
	if err := errors.Join(err1, err2); err != nil || lo < 1 || hi > 65535 || hi < lo {
		return 0, 0, fmt.Errorf("%q is not a port or a range of ports (80, 80/tcp, 49160-49259/udp)", k)
	}
	return lo, hi, nil
}
