package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Keycloak's Admin REST API, as the SSO step uses it: a token from the
// master realm (admin-cli, password grant, the bootstrap admin), then the
// site's realm, its LDAP user federation and one OIDC client per app.
// Paths and representations follow Keycloak's published Admin REST API
// description (the simulator in steps/internal/kcsim checks every call
// against it); the LDAP settings' names are LDAPConstants.java's.

// Request is one HTTP request to Keycloak; Path starts with /.
type Request struct {
	Method, Path, ContentType string
	Body                      []byte
	// Token is the bearer token ("" for the token request itself).
	Token string
}

// Transport sends a request to Keycloak and returns the status and body.
type Transport interface {
	Do(ctx context.Context, r Request) (status int, body []byte, err error)
}

// ComponentType is the provider type of user federation.
const ComponentType = "org.keycloak.storage.UserStorageProvider"

// FederationName is the name of the LDAP federation component.
const FederationName = "directory"

// Masked is how Keycloak shows a component's secret setting when read.
const Masked = "**********"

// SSO is what the site needs in Keycloak.
type SSO struct {
	Realm, DisplayName string
	// LDAP is the directory's federation (nil without a directory).
	LDAP *Federation
	// Clients are the apps' OIDC clients, sorted by ClientID.
	Clients []OIDCClient
}

// Federation is the LDAP user federation of the realm.
type Federation struct {
	URL, BindDN, BindPassword, UsersDN string
}

// OIDCClient is one app's confidential client.
type OIDCClient struct {
	ClientID, Name, RootURL, Secret string
	RedirectURIs, WebOrigins        []string
}

// realmWanted are the realm settings collabstack holds: no open
// registration, brute-force protection, TLS for everything but the LAN.
func (s SSO) realmWanted() map[string]any {
	return map[string]any{
		"realm": s.Realm, "enabled": true, "displayName": s.DisplayName,
		"registrationAllowed": false, "loginWithEmailAllowed": true, "duplicateEmailsAllowed": false,
		"bruteForceProtected": true, "sslRequired": "external",
	}
}

func (f *Federation) config() map[string][]string {
	return map[string][]string{
		"enabled": {"true"}, "vendor": {"other"}, "connectionUrl": {f.URL}, "authType": {"simple"},
		"bindDn": {f.BindDN}, "bindCredential": {f.BindPassword}, "editMode": {"READ_ONLY"},
		"usersDn": {f.UsersDN}, "usernameLDAPAttribute": {"uid"}, "rdnLDAPAttribute": {"uid"},
		"uuidLDAPAttribute": {"entryUUID"}, "userObjectClasses": {"inetOrgPerson"}, "searchScope": {"1"},
		"importEnabled": {"true"}, "syncRegistrations": {"false"}, "trustEmail": {"true"},
		"pagination": {"false"}, "connectionPooling": {"true"}, "validatePasswordPolicy": {"false"},
		"useTruststoreSpi": {"always"}, "startTls": {"false"},
	}
}

func (c OIDCClient) wanted() map[string]any {
	return map[string]any{
		"clientId": c.ClientID, "name": c.Name, "enabled": true, "protocol": "openid-connect",
		"publicClient": false, "clientAuthenticatorType": "client-secret", "secret": c.Secret,
		"rootUrl": c.RootURL, "baseUrl": "/", "redirectUris": c.RedirectURIs, "webOrigins": c.WebOrigins,
		"standardFlowEnabled": true, "implicitFlowEnabled": false, "directAccessGrantsEnabled": false,
		"serviceAccountsEnabled": false, "frontchannelLogout": true,
	}
}

// Admin talks to Keycloak's Admin REST API as the master realm's admin.
type Admin struct {
	T              Transport
	User, Password string
	token          string
}

// APIError is an answer Keycloak gave with an unexpected status.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	b := strings.TrimSpace(e.Body)
	if len(b) > 300 {
		b = b[:300] + "..."
	}
	return fmt.Sprintf("keycloak: %s %s: status %d: %s", e.Method, e.Path, e.Status, b)
}

func (a *Admin) login(ctx context.Context) error {
	form := url.Values{"grant_type": {"password"}, "client_id": {"admin-cli"}, "username": {a.User}, "password": {a.Password}}
	st, body, err := a.T.Do(ctx, Request{Method: "POST", Path: "/realms/master/protocol/openid-connect/token",
		ContentType: "application/x-www-form-urlencoded", Body: []byte(form.Encode())})
	if err != nil {
		return err
	}
	if st != 200 {
		return &APIError{"POST", "/realms/master/protocol/openid-connect/token", st, string(body)}
	}
	var t struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return fmt.Errorf("keycloak: no access token in the token answer")
	}
	a.token = t.AccessToken
	return nil
}

// call sends a JSON request; out (if not nil) gets a 200 answer. It
// returns the status; any status but 2xx and 404 is an error.
func (a *Admin) call(ctx context.Context, method, path string, in, out any) (int, error) {
	if a.token == "" {
		if err := a.login(ctx); err != nil {
			return 0, err
		}
	}
	r := Request{Method: method, Path: path, Token: a.token}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		r.Body, r.ContentType = b, "application/json"
	}
	st, body, err := a.T.Do(ctx, r)
	if err != nil {
		return 0, err
	}
	if st == 401 { // the token expired (60 s by default): once more
		if err := a.login(ctx); err != nil {
			return 0, err
		}
		r.Token = a.token
		if st, body, err = a.T.Do(ctx, r); err != nil {
			return 0, err
		}
	}
	switch {
	case st == 404:
		return st, nil
	case st < 200 || st > 299:
		return st, &APIError{method, path, st, string(body)}
	}
	if out != nil && st == 200 {
		if err := json.Unmarshal(body, out); err != nil {
			return st, fmt.Errorf("keycloak: %s %s: %w", method, path, err)
		}
	}
	return st, nil
}

// Change is one difference between Keycloak and what the site needs,
// and how to make it right.
type Change struct {
	Why   string
	Apply func(ctx context.Context) error
}

// Diff compares the live realm, federation and clients with s.
func (a *Admin) Diff(ctx context.Context, s SSO) ([]Change, error) {
	realmPath := "/admin/realms/" + url.PathEscape(s.Realm)
	var realm map[string]any
	st, err := a.call(ctx, "GET", realmPath, nil, &realm)
	if err != nil {
		return nil, err
	}
	var out []Change
	if st == 404 {
		out = append(out, Change{"create the realm " + s.Realm, func(ctx context.Context) error {
			_, err := a.call(ctx, "POST", "/admin/realms", s.realmWanted(), nil)
			return err
		}})
		// Everything in it is missing too.
		realm = map[string]any{}
	} else if d := differs(realm, s.realmWanted()); len(d) > 0 {
		out = append(out, Change{"set " + strings.Join(d, ", ") + " of the realm " + s.Realm, func(ctx context.Context) error {
			_, err := a.call(ctx, "PUT", realmPath, s.realmWanted(), nil)
			return err
		}})
	}
	if s.LDAP != nil {
		var comps []map[string]any
		if st != 404 {
			q := url.Values{"name": {FederationName}, "type": {ComponentType}}
			if _, err := a.call(ctx, "GET", realmPath+"/components?"+q.Encode(), nil, &comps); err != nil {
				return nil, err
			}
		}
		want := s.LDAP.config()
		rep := func(id string) map[string]any {
			m := map[string]any{"name": FederationName, "providerId": "ldap", "providerType": ComponentType, "config": want}
			if id != "" {
				m["id"] = id
			}
			return m
		}
		if len(comps) == 0 {
			out = append(out, Change{"add the LDAP user federation of the directory", func(ctx context.Context) error {
				var r map[string]any
				if _, err := a.call(ctx, "GET", realmPath, nil, &r); err != nil {
					return err
				}
				m := rep("")
				m["parentId"] = r["id"]
				_, err := a.call(ctx, "POST", realmPath+"/components", m, nil)
				return err
			}})
		} else {
			live, _ := comps[0]["config"].(map[string]any)
			var d []string
			for _, k := range sortedConfigKeys(want) {
				got := stringsOf(live[k])
				if k == "bindCredential" && slices.Equal(got, []string{Masked}) {
					continue // Keycloak never shows it; Apply sets it with any other change
				}
				if !slices.Equal(got, want[k]) {
					d = append(d, k)
				}
			}
			if len(d) > 0 {
				id, _ := comps[0]["id"].(string)
				parent := comps[0]["parentId"]
				out = append(out, Change{"set " + strings.Join(d, ", ") + " of the LDAP user federation", func(ctx context.Context) error {
					m := rep(id)
					m["parentId"] = parent
					_, err := a.call(ctx, "PUT", realmPath+"/components/"+url.PathEscape(id), m, nil)
					return err
				}})
			}
		}
	}
	for _, c := range s.Clients {
		c := c
		var live []map[string]any
		if st != 404 {
			if _, err := a.call(ctx, "GET", realmPath+"/clients?"+url.Values{"clientId": {c.ClientID}}.Encode(), nil, &live); err != nil {
				return nil, err
			}
		}
		if len(live) == 0 {
			out = append(out, Change{"add the OIDC client " + c.ClientID, func(ctx context.Context) error {
				_, err := a.call(ctx, "POST", realmPath+"/clients", c.wanted(), nil)
				return err
			}})
			continue
		}
		id, _ := live[0]["id"].(string)
		want := c.wanted()
		delete(want, "secret")
		d := differs(live[0], want)
		var sec struct {
			Value string `json:"value"`
		}
		if _, err := a.call(ctx, "GET", realmPath+"/clients/"+url.PathEscape(id)+"/client-secret", nil, &sec); err != nil {
			return nil, err
		}
		if sec.Value != c.Secret {
			d = append(d, "secret")
		}
		if len(d) > 0 {
			out = append(out, Change{"set " + strings.Join(d, ", ") + " of the OIDC client " + c.ClientID, func(ctx context.Context) error {
				m := c.wanted()
				m["id"] = id
				_, err := a.call(ctx, "PUT", realmPath+"/clients/"+url.PathEscape(id), m, nil)
				return err
			}})
		}
	}
	return out, nil
}

// differs lists the keys of want whose live values differ (JSON-equal).
func differs(live, want map[string]any) []string {
	var out []string
	for _, k := range sortedAnyKeys(want) {
		a, _ := json.Marshal(live[k])
		b, _ := json.Marshal(want[k])
		var x, y any
		json.Unmarshal(a, &x)
		json.Unmarshal(b, &y)
		if !reflect.DeepEqual(x, y) {
			out = append(out, k)
		}
	}
	return out
}

func stringsOf(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func sortedAnyKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedConfigKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
