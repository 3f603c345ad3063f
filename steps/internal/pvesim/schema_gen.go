//go:build ignore

// schema_gen extracts the parameter schema of the endpoints the simulator
// serves from Proxmox VE's published API description (pve-docs,
// api-viewer/apidata.js, the file behind the API viewer) into schema.json:
//
//	git -C pve-docs show stable-bookworm:api-viewer/apidata.js > apidata.js
//	go run schema_gen.go -apidata apidata.js -version "8.4.2 (proxmox/pve-docs branch stable-bookworm, commit fa0b4f6)" > schema.json
//
// The branch is the one of the Proxmox VE that steps/pveinstall installs
// (PVE 8 on Debian 12 bookworm): stable-bookworm, not master (PVE 9).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

// endpoints are the calls the simulator answers: "METHOD path".
var endpoints = []string{
	"GET /version",
	"GET /nodes",
	"GET /nodes/{node}/status",
	"GET /cluster/nextid",
	"GET /nodes/{node}/storage/{storage}/content",
	"GET /nodes/{node}/qemu",
	"POST /nodes/{node}/qemu",
	"GET /nodes/{node}/qemu/{vmid}/config",
	"PUT /nodes/{node}/qemu/{vmid}/resize",
	"GET /nodes/{node}/qemu/{vmid}/status/current",
	"POST /nodes/{node}/qemu/{vmid}/status/start",
	"POST /nodes/{node}/qemu/{vmid}/status/stop",
	"POST /nodes/{node}/qemu/{vmid}/status/shutdown",
	"GET /nodes/{node}/qemu/{vmid}/snapshot",
	"POST /nodes/{node}/qemu/{vmid}/snapshot",
	"DELETE /nodes/{node}/qemu/{vmid}/snapshot/{snapname}",
	"POST /nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback",
	"GET /nodes/{node}/tasks/{upid}/status",
	"GET /nodes/{node}/tasks/{upid}/log",
}

type node struct {
	Path     string                    `json:"path"`
	Info     map[string]map[string]any `json:"info"`
	Children []node                    `json:"children"`
}

type param struct {
	Type       string            `json:"type,omitempty"`
	Optional   bool              `json:"optional,omitempty"`
	Enum       []string          `json:"enum,omitempty"`
	Minimum    *float64          `json:"minimum,omitempty"`
	Maximum    *float64          `json:"maximum,omitempty"`
	MaxLength  *float64          `json:"maxLength,omitempty"`
	Pattern    string            `json:"pattern,omitempty"`
	Format     string            `json:"format,omitempty"`
	Alias      string            `json:"alias,omitempty"`
	KeyAlias   string            `json:"keyAlias,omitempty"`
	DefaultKey bool              `json:"default_key,omitempty"`
	Sub        map[string]*param `json:"sub,omitempty"`
}

type endpoint struct {
	Params      map[string]*param `json:"params"`
	Returns     string            `json:"returns"`
	Permissions any               `json:"permissions,omitempty"`
}

func main() {
	apidata := flag.String("apidata", "", "path of api-viewer/apidata.js")
	version := flag.String("version", "", "which pve-docs the file is from")
	flag.Parse()
	raw, err := os.ReadFile(*apidata)
	if err != nil {
		fail(err)
	}
	s := string(raw)
	s = s[strings.Index(s, "["):]
	s = s[:strings.LastIndex(s, "]")+1]
	var tree []node
	if err := json.Unmarshal([]byte(s), &tree); err != nil {
		fail(err)
	}
	byPath := map[string]node{}
	var walk func([]node)
	walk = func(ns []node) {
		for _, n := range ns {
			byPath[n.Path] = n
			walk(n.Children)
		}
	}
	walk(tree)
	out := struct {
		Source    string               `json:"source"`
		Endpoints map[string]*endpoint `json:"endpoints"`
	}{Source: "pve-docs api-viewer/apidata.js " + *version, Endpoints: map[string]*endpoint{}}
	for _, e := range endpoints {
		method, path, _ := strings.Cut(e, " ")
		n, ok := byPath[path]
		if !ok || n.Info[method] == nil {
			fail(fmt.Errorf("%s is not in apidata", e))
		}
		info := n.Info[method]
		ep := &endpoint{Params: map[string]*param{}, Permissions: info["permissions"]}
		if r, ok := info["returns"].(map[string]any); ok {
			ep.Returns, _ = r["type"].(string)
		}
		if p, ok := info["parameters"].(map[string]any); ok {
			props, _ := p["properties"].(map[string]any)
			for name, v := range props {
				ep.Params[name] = convert(v.(map[string]any))
			}
		}
		out.Endpoints[e] = ep
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func convert(v map[string]any) *param {
	p := &param{}
	p.Type, _ = v["type"].(string)
	p.Optional = truthy(v["optional"])
	p.DefaultKey = truthy(v["default_key"])
	p.Alias, _ = v["alias"].(string)
	p.KeyAlias, _ = v["keyAlias"].(string)
	if e, ok := v["enum"].([]any); ok {
		for _, x := range e {
			p.Enum = append(p.Enum, fmt.Sprint(x))
		}
		sort.Strings(p.Enum)
	}
	p.Minimum = num(v["minimum"])
	p.Maximum = num(v["maximum"])
	p.MaxLength = num(v["maxLength"])
	if pat, ok := v["pattern"].(string); ok {
		// Perl's (?^:...) is Go's (?:...).
		p.Pattern = strings.ReplaceAll(pat, "(?^:", "(?:")
	}
	switch f := v["format"].(type) {
	case string:
		p.Format = f
	case map[string]any:
		p.Sub = map[string]*param{}
		for k, sv := range f {
			p.Sub[k] = convert(sv.(map[string]any))
		}
	}
	return p
}

func truthy(v any) bool {
	switch x := v.(type) {
	case float64:
		return x != 0
	case bool:
		return x
	case string:
		return x == "1"
	}
	return false
}

func num(v any) *float64 {
	switch x := v.(type) {
	case float64:
		return &x
	case string:
		var f float64
		if _, err := fmt.Sscan(x, &f); err == nil {
			return &f
		}
	}
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "schema_gen:", err)
	os.Exit(1)
}
