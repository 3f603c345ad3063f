// Package kcsim simulates the part of Keycloak's Admin REST API that
// steps/identity uses (realms, user-storage components, OIDC clients and
// their secrets) plus the master realm's token endpoint, for tests on a
// machine where Keycloak (a JVM of 1 GB) cannot run. Requests are checked
// against the endpoints and representations of Keycloak's published
// Admin REST API description (schema.json, made by schema_gen.go): an
// endpoint it does not list is a 404, a query parameter it does not list
// or a body property a representation does not have, or of another type,
// is a 400. Answers follow Keycloak's resources: 201 with Location on
// create, 204 on update, 409 on a duplicate, 404 for a missing realm,
// secret component settings masked as "**********" when read back (and
// kept when written back masked).
//
// What it cannot show: Keycloak's own validation beyond types (redirect
// URI syntax, unknown provider IDs, LDAP settings it would reject on a
// connection test), that the LDAP federation reaches and reads the
// directory, the login pages and tokens of the realm, and anything that
// changed between the description's version (23.0.0) and the image's.
package kcsim

import (
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

//go:embed schema.json
var schemaJSON []byte

type schemaFile struct {
	Source    string                       `json:"source"`
	Endpoints map[string]endpoint          `json:"endpoints"`
	Schemas   map[string]map[string]string `json:"schemas"`
}

type endpoint struct {
	Query   map[string]string `json:"query"`
	Body    string            `json:"body"`
	Returns string            `json:"returns"`
}

// Source says which published description the schema comes from.
func Source() string { s, _ := load(); return s.Source }

func load() (*schemaFile, error) {
	var s schemaFile
	if err := json.Unmarshal(schemaJSON, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// Masked is how Keycloak shows a secret setting of a component.
const Masked = "**********"

// Sim is a simulated Keycloak.
type Sim struct {
	// AdminUser and AdminPassword are the master realm's admin.
	AdminUser, AdminPassword string

	mu       sync.Mutex
	schema   *schemaFile
	tokens   map[string]bool
	realms   map[string]map[string]any // by realm name
	comps    map[string]map[string]any // by id
	clients  map[string]map[string]any // by id
	clientOf map[string]string         // client id -> realm
	// Calls counts the requests by "METHOD path-pattern", for tests that
	// check a second run changes nothing.
	Calls map[string]int
}

// New makes a simulator with one master realm.
func New(user, password string) (*Sim, error) {
	sc, err := load()
	if err != nil {
		return nil, err
	}
	return &Sim{AdminUser: user, AdminPassword: password, schema: sc, tokens: map[string]bool{},
		realms: map[string]map[string]any{"master": {"id": "master", "realm": "master", "enabled": true}},
		comps:  map[string]map[string]any{}, clients: map[string]map[string]any{}, clientOf: map[string]string{},
		Calls: map[string]int{}}, nil
}

func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"errorMessage": msg})
}

var routes = []struct {
	pattern string
	re      *regexp.Regexp
}{
	{"/admin/realms", regexp.MustCompile(`^/admin/realms$`)},
	{"/admin/realms/{realm}", regexp.MustCompile(`^/admin/realms/([^/]+)$`)},
	{"/admin/realms/{realm}/components", regexp.MustCompile(`^/admin/realms/([^/]+)/components$`)},
	{"/admin/realms/{realm}/components/{id}", regexp.MustCompile(`^/admin/realms/([^/]+)/components/([^/]+)$`)},
	{"/admin/realms/{realm}/clients", regexp.MustCompile(`^/admin/realms/([^/]+)/clients$`)},
	{"/admin/realms/{realm}/clients/{id}", regexp.MustCompile(`^/admin/realms/([^/]+)/clients/([^/]+)$`)},
	{"/admin/realms/{realm}/clients/{id}/client-secret", regexp.MustCompile(`^/admin/realms/([^/]+)/clients/([^/]+)/client-secret$`)},
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.URL.Path == "/realms/master/protocol/openid-connect/token" && r.Method == http.MethodPost {
		s.Calls["POST token"]++
		s.token(w, r)
		return
	}
	var pattern string
	var args []string
	for _, rt := range routes {
		if m := rt.re.FindStringSubmatch(r.URL.EscapedPath()); m != nil {
			pattern = rt.pattern
			for _, a := range m[1:] {
				u, _ := url.PathUnescape(a)
				args = append(args, u)
			}
			break
		}
	}
	ep, ok := s.schema.Endpoints[r.Method+" "+pattern]
	if pattern == "" || !ok {
		fail(w, http.StatusNotFound, "not simulated (not among the endpoints taken from the published description): "+r.Method+" "+r.URL.Path)
		return
	}
	s.Calls[r.Method+" "+pattern]++
	if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "Bearer ") || !s.tokens[strings.TrimPrefix(a, "Bearer ")] {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "HTTP 401 Unauthorized"})
		return
	}
	for k := range r.URL.Query() {
		if _, ok := ep.Query[k]; !ok {
			fail(w, http.StatusBadRequest, fmt.Sprintf("query parameter %q is not one of %s %s", k, r.Method, pattern))
			return
		}
	}
	var body map[string]any
	if ep.Body != "" {
		data, _ := io.ReadAll(r.Body)
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "HTTP 415 Unsupported Media Type"})
			return
		}
		if err := json.Unmarshal(data, &body); err != nil {
			fail(w, http.StatusBadRequest, "unable to read the body: "+err.Error())
			return
		}
		rep := ep.Body
		if rep == "binary" && pattern == "/admin/realms" {
			rep = "RealmRepresentation" // the realm import takes a realm's JSON
		}
		if err := s.check(rep, body); err != nil {
			fail(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	s.serve(w, r, pattern, args, body)
}

// check validates a body against a representation of the schema.
func (s *Sim) check(rep string, body map[string]any) error {
	props, ok := s.schema.Schemas[rep]
	if !ok {
		return nil
	}
	for k, v := range body {
		t, ok := props[k]
		if !ok {
			return fmt.Errorf("Unrecognized field %q (%s has no such property)", k, rep)
		}
		if !typeMatches(t, v) {
			return fmt.Errorf("%s.%s: %T is not a %s", rep, k, v, t)
		}
	}
	return nil
}

func typeMatches(t string, v any) bool {
	if v == nil {
		return true
	}
	switch {
	case t == "string":
		_, ok := v.(string)
		return ok
	case t == "boolean":
		_, ok := v.(bool)
		return ok
	case t == "integer" || t == "number":
		_, ok := v.(float64)
		return ok
	case strings.HasPrefix(t, "[]"):
		l, ok := v.([]any)
		if !ok {
			return false
		}
		for _, x := range l {
			if !typeMatches(strings.TrimPrefix(t, "[]"), x) {
				return false
			}
		}
		return true
	case t == "map":
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for _, x := range m {
			if _, ok := x.([]any); !ok {
				return false
			}
		}
		return true
	default: // object or another representation
		_, ok := v.(map[string]any)
		return ok
	}
}

func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if r.PostForm.Get("grant_type") != "password" || r.PostForm.Get("client_id") != "admin-cli" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if r.PostForm.Get("username") != s.AdminUser || r.PostForm.Get("password") != s.AdminPassword {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_grant", "error_description": "Invalid user credentials"})
		return
	}
	t := newID()
	s.tokens[t] = true
	writeJSON(w, http.StatusOK, map[string]any{"access_token": t, "expires_in": 60, "token_type": "Bearer"})
}

func clone(m map[string]any) map[string]any {
	data, _ := json.Marshal(m)
	var c map[string]any
	json.Unmarshal(data, &c)
	return c
}

func (s *Sim) serve(w http.ResponseWriter, r *http.Request, pattern string, args []string, body map[string]any) {
	if pattern != "/admin/realms" {
		if _, ok := s.realms[args[0]]; !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "Realm not found."})
			return
		}
	}
	created := func(path string) {
		w.Header().Set("Location", "http://"+r.Host+path)
		w.WriteHeader(http.StatusCreated)
	}
	switch r.Method + " " + pattern {
	case "POST /admin/realms":
		name, _ := body["realm"].(string)
		if name == "" {
			fail(w, http.StatusBadRequest, "Realm name cannot be empty")
			return
		}
		if _, ok := s.realms[name]; ok {
			fail(w, http.StatusConflict, "Conflict detected. See logs for details")
			return
		}
		body["id"] = newID()
		s.realms[name] = clone(body)
		created("/admin/realms/" + url.PathEscape(name))
	case "GET /admin/realms/{realm}":
		writeJSON(w, http.StatusOK, s.realms[args[0]])
	case "PUT /admin/realms/{realm}":
		realm := s.realms[args[0]]
		for k, v := range body {
			if k != "id" && k != "realm" {
				realm[k] = v
			}
		}
		w.WriteHeader(http.StatusNoContent)
	case "GET /admin/realms/{realm}/components":
		q := r.URL.Query()
		var out []map[string]any
		for _, id := range sortedKeys(s.comps) {
			c := s.comps[id]
			if c["realm"] != args[0] || (q.Has("name") && c["name"] != q.Get("name")) ||
				(q.Has("type") && c["providerType"] != q.Get("type")) || (q.Has("parent") && c["parentId"] != q.Get("parent")) {
				continue
			}
			out = append(out, masked(c))
		}
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
	case "POST /admin/realms/{realm}/components":
		id := newID()
		c := clone(body)
		c["id"], c["realm"] = id, args[0]
		if c["parentId"] == nil {
			c["parentId"] = s.realms[args[0]]["id"]
		}
		s.comps[id] = c
		created("/admin/realms/" + url.PathEscape(args[0]) + "/components/" + id)
	case "PUT /admin/realms/{realm}/components/{id}":
		c, ok := s.comps[args[1]]
		if !ok || c["realm"] != args[0] {
			fail(w, http.StatusNotFound, "Could not find component")
			return
		}
		n := clone(body)
		n["id"], n["realm"] = args[1], args[0]
		// A masked secret written back keeps the stored one.
		if cfg, ok := n["config"].(map[string]any); ok {
			old, _ := c["config"].(map[string]any)
			for k, v := range cfg {
				if l, ok := v.([]any); ok && len(l) == 1 && l[0] == Masked && old != nil {
					cfg[k] = old[k]
				}
			}
		}
		s.comps[args[1]] = n
		w.WriteHeader(http.StatusNoContent)
	case "GET /admin/realms/{realm}/clients":
		q := r.URL.Query()
		out := []map[string]any{}
		for _, id := range sortedKeys(s.clients) {
			c := s.clients[id]
			if s.clientOf[id] == args[0] && (!q.Has("clientId") || c["clientId"] == q.Get("clientId")) {
				out = append(out, clone(c))
			}
		}
		writeJSON(w, http.StatusOK, out)
	case "POST /admin/realms/{realm}/clients":
		cid, _ := body["clientId"].(string)
		for id, c := range s.clients {
			if s.clientOf[id] == args[0] && c["clientId"] == cid {
				fail(w, http.StatusConflict, "Client "+cid+" already exists")
				return
			}
		}
		id := newID()
		c := clone(body)
		c["id"] = id
		if c["secret"] == nil && c["publicClient"] != true {
			c["secret"] = newID()
		}
		s.clients[id], s.clientOf[id] = c, args[0]
		created("/admin/realms/" + url.PathEscape(args[0]) + "/clients/" + id)
	case "PUT /admin/realms/{realm}/clients/{id}":
		c, ok := s.clients[args[1]]
		if !ok || s.clientOf[args[1]] != args[0] {
			fail(w, http.StatusNotFound, "Could not find client")
			return
		}
		for k, v := range body {
			if k != "id" {
				c[k] = v
			}
		}
		w.WriteHeader(http.StatusNoContent)
	case "GET /admin/realms/{realm}/clients/{id}/client-secret":
		c, ok := s.clients[args[1]]
		if !ok || s.clientOf[args[1]] != args[0] {
			fail(w, http.StatusNotFound, "Could not find client")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"type": "secret", "value": c["secret"]})
	default:
		fail(w, http.StatusNotFound, "not simulated")
	}
}

// masked returns a component as Keycloak shows it: secret settings
// (bindCredential) masked, and without the simulator's realm field.
func masked(c map[string]any) map[string]any {
	m := clone(c)
	delete(m, "realm")
	if cfg, ok := m["config"].(map[string]any); ok {
		if _, ok := cfg["bindCredential"]; ok {
			cfg["bindCredential"] = []any{Masked}
		}
	}
	return m
}

func sortedKeys(m map[string]map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Component returns a stored component (unmasked) by name, for tests.
func (s *Sim) Component(realm, name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.comps {
		if c["realm"] == realm && c["name"] == name {
			return clone(c)
		}
	}
	return nil
}

// Client returns a stored client by clientId, for tests.
func (s *Sim) Client(realm, clientID string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, c := range s.clients {
		if s.clientOf[id] == realm && c["clientId"] == clientID {
			return clone(c)
		}
	}
	return nil
}

// Realm returns a stored realm, for tests.
func (s *Sim) Realm(name string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.realms[name]; ok {
		return clone(r)
	}
	return nil
}

// Changes counts the calls that change something (POST and PUT, but the
// token), for tests that check a second run changes nothing.
func (s *Sim) Changes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, v := range s.Calls {
		if (strings.HasPrefix(k, "POST ") || strings.HasPrefix(k, "PUT ")) && k != "POST token" {
			n += v
		}
	}
	return n
}
