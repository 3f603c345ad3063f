package tui

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/site"
)

// The wizard's checks say what the site file's validation says.
func TestChecksAreTheSiteValidators(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(string) error
		value string
		want  string // part of the error; "" for valid
	}{
		{"address", checkAddress, "10.0.0.30", ""},
		{"address", checkAddress, "10.0.0.300", "is not an IP address"},
		{"domain", checkDomain, "Example.org", "upper-case"},
		{"domain", checkDomain, "example.org", ""},
		{"email", checkEmail, "admin", "is not an e-mail address"},
		{"port", checkPort, "22", ""},
		{"port", checkPort, "70000", "is not a TCP port"},
		{"port", checkPort, "ssh", "is not a number"},
		{"user", checkUser, "Root", "is not a valid user name"},
		{"user", checkUser, "ubuntu", ""},
		{"name", checkHostName, "node_2", "is not a valid host name"},
		{"nodes", checkLabNodes, "12", "out of range"},
		{"nodes", checkLabNodes, "2", ""},
		{"key", checkKeyFile, "/nonexistent/id_ed25519", "does not exist"},
	} {
		err := tc.check(tc.value)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %q: unexpected error %v", tc.name, tc.value, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %q: got %v, want an error with %q", tc.name, tc.value, err, tc.want)
		}
	}
	// The same text as the whole-file validation gives.
	s := &site.Site{Version: 1, Hosts: []site.Host{{Port: 70000}}}
	var es site.Errors
	if !errors.As(s.Validate(nil), &es) {
		t.Fatal("no validation errors")
	}
	fe, _ := es.Field("hosts[0].port")
	if got := checkPort("70000").Error(); got != fe.Problem+"; "+fe.Fix {
		t.Errorf("port: %q, site says %q", got, fe.Error())
	}
	if err := checkTLS(site.TLSLetsEncrypt, "kopnik.test"); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("tls: %v", err)
	}
}

// Every role the wizard offers for a topology is one the site accepts.
func TestTopologyRolesValidate(t *testing.T) {
	for _, top := range topologies {
		for _, role := range top.Roles {
			s := &site.Site{Version: 1, Topology: top.Name, Domain: "example.org", AdminEmail: "a@example.org",
				Hosts: []site.Host{{Name: "h", Address: "10.0.0.1", Role: role}}}
			s.ApplyDefaults()
			var es site.Errors
			errors.As(s.Validate(nil), &es)
			if fe, bad := es.Field("hosts[0].role"); bad {
				t.Errorf("%s/%s: %v", top.Name, role, fe)
			}
		}
	}
}

// A draft with the hosts each topology needs is a valid site file.
func TestEveryTopologyCompletes(t *testing.T) {
	be := NewFakeBackend()
	for _, top := range topologies {
		d := newDraft(be.Catalog())
		d.topology = top.Name
		d.domain, d.email, d.tls = "example.org", "admin@example.org", site.TLSLetsEncrypt
		for _, r := range top.Required {
			addr := "10.0.0." + strconv.Itoa(len(d.hosts)+1) // every host its own address
			d.hosts = append(d.hosts, &hostDraft{Host: hostOf(d.nextName(r), r, addr, "~/.ssh/id_ed25519", nil)})
		}
		if err := be.Validate(d.withDefaults()); err != nil {
			t.Errorf("%s: %v", top.Name, err)
		}
		if p := d.hostsProblem(); p != "" {
			t.Errorf("%s: %s", top.Name, p)
		}
	}
}
