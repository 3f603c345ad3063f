package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/site"
)

// With the directory chosen, the plain wizard asks for the first
// administrator (a bad user name refused with the fix), proposes a user
// name from the e-mail, and writes the answers as the directory's
// options; without it, nothing is asked.
func TestPlainWizardAsksTheFirstAdministrator(t *testing.T) {
	dir := t.TempDir()
	key := writeKey(t, dir)
	path := filepath.Join(dir, "site.yaml")
	be := NewFakeBackend()
	be.Apps = append(DemoCatalog(), App{Name: "openldap", Title: "OpenLDAP", Description: "the site's directory", Category: "Identity", RAMMB: 128, DiskGB: 1})
	be.DNS = map[string][]string{"example.org": {"203.0.113.10"}}
	script := strings.Replace(plainScript(key), "nextcloud\n", "keycloak,openldap\n"+
		"Jane Doé\n"+ // full name
		"\n"+ // e-mail: the admin e-mail by default
		"Jane Doe\n"+ // a bad user name, refused
		"\n", 1) // the proposed one
	script = strings.Replace(script, "admin@example.org\n", "jane.doe@example.org\n", 1)
	var out bytes.Buffer
	got, err := RunWizard(context.Background(), Options{Backend: be, SitePath: path, In: strings.NewReader(script), Out: &out, Plain: true})
	if err != nil || got != path {
		t.Fatalf("%v\n%s", err, out.String())
	}
	tr := out.String()
	for _, want := range []string{"who is the first administrator?", `user name "Jane Doe": is not a valid name`, "[jane.doe]"} {
		if !strings.Contains(tr, want) {
			t.Errorf("the transcript lacks %q\n%s", want, tr)
		}
	}
	data, _ := os.ReadFile(path)
	s, err := site.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	o := s.Components["openldap"].Options
	if o["first_admin"] != "jane.doe" || o["first_admin_name"] != "Jane Doé" || o["first_admin_email"] != "jane.doe@example.org" {
		t.Errorf("openldap options %v", o)
	}

	// Read back, the answers are the defaults.
	d := draftFrom(s, be.Apps)
	if d.admin != (firstAdmin{"jane.doe", "Jane Doé", "jane.doe@example.org"}) {
		t.Errorf("draftFrom: %+v", d.admin)
	}

	// Without the directory, no question.
	out.Reset()
	path2 := filepath.Join(dir, "site2.yaml")
	if _, err := RunWizard(context.Background(), Options{Backend: be, SitePath: path2, In: strings.NewReader(plainScript(key)), Out: &out, Plain: true}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "first administrator") {
		t.Error("asked for a first administrator without the directory")
	}
}

func TestUserNameFrom(t *testing.T) {
	for in, want := range map[string]string{"Jane.Doe@x.org": "jane.doe", "9lives@x": "lives", "é@x": "", "admin@x.org": ""} {
		if got := userNameFrom(in); got != want {
			t.Errorf("userNameFrom(%q) = %q; want %q", in, got, want)
		}
	}
}

// The full-screen wizard: with the directory chosen, enter on the
// components page leads to the administrator page, whose user name is
// proposed from the e-mail and checked as `collabstack users` does; its
// answers land in the directory's options. Esc goes back.
func TestWizardAdministratorPage(t *testing.T) {
	be := NewFakeBackend()
	be.Apps = append(DemoCatalog(), App{Name: "openldap", Title: "OpenLDAP", Description: "the site's directory", Category: "Identity", RAMMB: 128, DiskGB: 1})
	w := testWizard(be, "/srv/site.yaml")
	w.d = testedDraft(be, writeKey(t, t.TempDir()))
	w.d.email = "ops@example.org"
	w.d.cat.chosen = map[string]bool{"openldap": true}
	w.first = &componentsPage{}
	d := newDriver(t, w, 100, 34)
	d.keys("enter")
	d.requireView("Full name", "User name", "admins group")
	if w.d.admin.User != "ops" || w.d.admin.Email != "ops@example.org" {
		t.Errorf("proposed %+v", w.d.admin)
	}
	d.typ("Olga Ops")
	d.keys("enter", "enter", "ctrl+u")
	d.typ("Olga Ops")
	d.keys("enter")
	d.requireView(`is not a valid name`)
	for range "Olga Ops" {
		d.keys("backspace")
	}
	d.typ("olga")
	d.keys("enter")
	if _, ok := w.page.(*advancedPage); !ok {
		t.Fatalf("after the administrator page: %T\n%s", w.page, d.view())
	}
	o := w.d.site().Components["openldap"].Options
	if o["first_admin"] != "olga" || o["first_admin_name"] != "Olga Ops" || o["first_admin_email"] != "ops@example.org" {
		t.Errorf("options %v", o)
	}
	d.keys("esc")
	if _, ok := w.page.(*adminPage); !ok {
		t.Errorf("esc on the advanced page: %T; want the administrator page", w.page)
	}

	// Without the directory, enter goes straight on.
	w2 := testWizard(be, "/srv/site.yaml")
	w2.d = testedDraft(be, writeKey(t, t.TempDir()))
	w2.d.cat.chosen = map[string]bool{"gitea": true}
	w2.first = &componentsPage{}
	d2 := newDriver(t, w2, 100, 34)
	d2.keys("enter")
	if _, ok := w2.page.(*advancedPage); !ok {
		t.Errorf("without the directory: %T", w2.page)
	}
}
