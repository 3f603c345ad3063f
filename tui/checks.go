package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/collabstack/collabstack/steps/identity"
	"github.com/collabstack/collabstack/steps/site"
)

// The wizard validates every field with the site file's own validators:
// the exported Check functions where steps/site has one, and otherwise the
// whole-site validation run on a one-field candidate, keeping only the
// error about that field. So the wizard cannot accept what apply rejects.

// asError turns a site validator's result into an error (nil stays nil).
func asError(e *site.FieldError) error {
	if e == nil {
		return nil
	}
	return *e
}

// fieldOf validates s and returns the error about field, if any.
func fieldOf(s *site.Site, field string) error {
	err := s.Validate(nil)
	var es site.Errors
	if errors.As(err, &es) {
		if fe, ok := es.Field(field); ok {
			fe.Field = ""
			return fe
		}
	}
	return nil
}

// hostField validates one field of a host through the site validation.
func hostField(h site.Host, field string) error {
	s := &site.Site{Version: site.Version, Hosts: []site.Host{h}}
	return fieldOf(s, "hosts[0]."+field)
}

func checkHostName(v string) error { return asError(site.CheckHostName(v)) }
func checkAddress(v string) error  { return asError(site.CheckAddress(v)) }
func checkDomain(v string) error   { return asError(site.CheckDomain(v)) }
func checkEmail(v string) error    { return asError(site.CheckEmail(v)) }
func checkKeyFile(v string) error  { return asError(site.CheckKeyFile(v)) }

// checkPort validates an SSH port as typed.
func checkPort(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return site.FieldError{Problem: fmt.Sprintf("%q is not a number", v), Fix: "use the port sshd listens on, usually 22"}
	}
	return hostField(site.Host{Port: n}, "port")
}

// checkUser validates a login name as typed.
func checkUser(v string) error { return hostField(site.Host{User: v}, "user") }

// checkUniqueName validates a host name and that no other host has it.
func checkUniqueName(v string, others []string) error {
	if err := checkHostName(v); err != nil {
		return err
	}
	for _, o := range others {
		if o == v {
			return site.FieldError{Problem: fmt.Sprintf("%q is used twice", v), Fix: "give every host its own name"}
		}
	}
	return nil
}

// checkTLS validates the TLS mode against the domain (Let's Encrypt cannot
// certify a reserved name such as kopnik.test).
func checkTLS(mode, domain string) error {
	s := &site.Site{Version: site.Version, Domain: domain, TLS: site.TLS{Mode: mode}}
	return fieldOf(s, "tls.mode")
}

// checkLabNodes validates the number of lab nodes as typed.
func checkLabNodes(v string) error {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return site.FieldError{Problem: fmt.Sprintf("%q is not a number", v), Fix: "use 1 to 9 (2 makes a manager and a worker)"}
	}
	s := &site.Site{Version: site.Version, Topology: site.TopologyLab, Lab: &site.Lab{Nodes: n}}
	return fieldOf(s, "lab.nodes")
}

// checkSecret validates a password typed in the wizard.
func checkSecret(v string) error {
	if v == "" {
		return site.FieldError{Problem: "missing", Fix: "type the password, or choose key or agent"}
	}
	return nil
}

// checkUserName checks a directory user name as `collabstack users` does.
func checkUserName(v string) error { return identity.CheckName("user name", v) }

// checkPersonName checks a person's full name (one line of text).
func checkPersonName(v string) error { return identity.CheckFullName(v) }

// userNameFrom proposes a user name from an e-mail address: its local
// part in lower case, with what a user name cannot have dropped.
func userNameFrom(email string) string {
	local, _, _ := strings.Cut(strings.ToLower(email), "@")
	var b strings.Builder
	for _, r := range local {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		}
	}
	n := strings.TrimLeft(b.String(), "0123456789._-")
	if len(n) > 32 {
		n = n[:32]
	}
	if identity.CheckName("", n) != nil {
		return ""
	}
	return n
}
