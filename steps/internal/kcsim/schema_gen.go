//go:build ignore

// schema_gen extracts, from Keycloak's published Admin REST API
// description (the OpenAPI file Keycloak's own build generates for
// https://www.keycloak.org/docs-api/<version>/rest-api/), what the
// simulator needs: for each endpoint it serves, its query parameters and
// the representation it takes and returns; for each representation, its
// properties and their types. The file comes from
// github.com/dahag-ag/keycloak-openapi (commit 2e3d108), which publishes
// the files Keycloak's generator wrote:
//
//	git -C keycloak-openapi show 2e3d108:OpenApiDefinitions/keycloak-23.0.0.yaml > kc.yaml
//	go run schema_gen.go -openapi kc.yaml -source "..." > schema.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// endpoints are the calls the simulator answers: "METHOD path".
var endpoints = []string{
	"GET /admin/realms/{realm}",
	"POST /admin/realms",
	"PUT /admin/realms/{realm}",
	"GET /admin/realms/{realm}/components",
	"POST /admin/realms/{realm}/components",
	"PUT /admin/realms/{realm}/components/{id}",
	"GET /admin/realms/{realm}/clients",
	"POST /admin/realms/{realm}/clients",
	"PUT /admin/realms/{realm}/clients/{id}",
	"GET /admin/realms/{realm}/clients/{id}/client-secret",
}

// schemas are the representations whose properties are kept.
var schemas = []string{"RealmRepresentation", "ComponentRepresentation", "ClientRepresentation", "CredentialRepresentation"}

type out struct {
	Source    string                       `json:"source"`
	Endpoints map[string]endpoint          `json:"endpoints"`
	Schemas   map[string]map[string]string `json:"schemas"`
}

type endpoint struct {
	Query   map[string]string `json:"query,omitempty"`
	Body    string            `json:"body,omitempty"`
	Returns string            `json:"returns,omitempty"`
}

func typeOf(s map[string]any) string {
	if r, ok := s["$ref"].(string); ok {
		return strings.TrimPrefix(r, "#/components/schemas/")
	}
	t, _ := s["type"].(string)
	if t == "array" {
		if it, ok := s["items"].(map[string]any); ok {
			return "[]" + typeOf(it)
		}
	}
	if f, ok := s["format"].(string); ok && t == "string" && f == "binary" {
		return "binary"
	}
	if t == "object" {
		if _, ok := s["additionalProperties"]; ok {
			return "map"
		}
	}
	return t
}

func main() {
	file := flag.String("openapi", "", "the OpenAPI YAML")
	source := flag.String("source", "", "where it comes from")
	flag.Parse()
	data, err := os.ReadFile(*file)
	if err != nil {
		panic(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		panic(err)
	}
	paths := doc["paths"].(map[string]any)
	o := out{Source: *source, Endpoints: map[string]endpoint{}, Schemas: map[string]map[string]string{}}
	for _, e := range endpoints {
		method, path, _ := strings.Cut(e, " ")
		p, ok := paths[path].(map[string]any)
		if !ok {
			panic("no path " + path)
		}
		op, ok := p[strings.ToLower(method)].(map[string]any)
		if !ok {
			panic("no " + e)
		}
		ep := endpoint{Query: map[string]string{}}
		params, _ := op["parameters"].([]any)
		for _, x := range params {
			pm := x.(map[string]any)
			if pm["in"] == "query" {
				ep.Query[pm["name"].(string)] = typeOf(pm["schema"].(map[string]any))
			}
		}
		if rb, ok := op["requestBody"].(map[string]any); ok {
			s := rb["content"].(map[string]any)["application/json"].(map[string]any)["schema"].(map[string]any)
			ep.Body = typeOf(s)
		}
		if rs, ok := op["responses"].(map[string]any); ok {
			for _, code := range []string{"200", "201", "204"} {
				if r, ok := rs[code].(map[string]any); ok {
					if c, ok := r["content"].(map[string]any); ok {
						ep.Returns = typeOf(c["application/json"].(map[string]any)["schema"].(map[string]any))
					}
				}
			}
		}
		o.Endpoints[e] = ep
	}
	all := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range schemas {
		props := all[name].(map[string]any)["properties"].(map[string]any)
		m := map[string]string{}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			m[k] = typeOf(props[k].(map[string]any))
		}
		o.Schemas[name] = m
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
