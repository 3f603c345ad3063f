package identity

import (
	"errors"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

func TestParseList(t *testing.T) {
	out := "dn: uid=jane,ou=people,dc=x,dc=test\nuid: jane\ncn:: SmFuZSBEb8Op\nmail: jane@x.test\n\n" +
		"dn: uid=bob,ou=people,dc=x,dc=test\nuid: bob\ncn: Bob\npwdAccountLockedTime: 000001010000Z\n\n\n" +
		"dn: cn=admins,ou=groups,dc=x,dc=test\ncn: admins\nuniqueMember: cn=admin,dc=x,dc=test\nuniqueMember: uid=jane,ou=people,dc=x,dc=test\n\n" +
		"dn: cn=staff,ou=groups,dc=x,dc=test\ncn: staff\nuniqueMember: UID=Jane,ou=people,dc=x,dc=test\nuniqueMember: uid=bob,ou=people,dc=x,dc=test\n"
	users, err := parseList(out, "dc=x,dc=test")
	if err != nil || len(users) != 2 {
		t.Fatalf("%+v %v", users, err)
	}
	if u := users[1]; u.Name != "jane" || u.FullName != "Jane Doé" || u.Email != "jane@x.test" || u.Disabled || strings.Join(u.Groups, ",") != "admins,staff" {
		t.Errorf("jane: %+v", u)
	}
	if u := users[0]; u.Name != "bob" || !u.Disabled || strings.Join(u.Groups, ",") != "staff" {
		t.Errorf("bob: %+v", u)
	}
}

func TestChecks(t *testing.T) {
	for _, bad := range []string{"", "Jane", "jane doe", "9x", "-x", "admin", "a/b", strings.Repeat("a", 33), "jané"} {
		var fe *FieldError
		if err := CheckName("name", bad); !errors.As(err, &fe) || fe.Fix == "" {
			t.Errorf("CheckName(%q) = %v; want a FieldError with a fix", bad, err)
		}
	}
	for _, good := range []string{"jane", "jane.doe", "j_d-2", strings.Repeat("a", 32)} {
		if err := CheckName("name", good); err != nil {
			t.Errorf("CheckName(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"x", "a@b c", "Jane <jane@x.org>", "jane@"} {
		if CheckEmail(bad) == nil {
			t.Errorf("CheckEmail(%q) passed", bad)
		}
	}
	if CheckPassword("short") == nil || CheckPassword("twelve chars") != nil || CheckPassword("line\nbreak here") == nil {
		t.Error("CheckPassword")
	}
	pw, err := GeneratePassword()
	if err != nil || len(pw) != PasswordLength || CheckPassword(pw) != nil {
		t.Errorf("GeneratePassword: %q %v", pw, err)
	}
}

// The scripts render with every value shell-quoted: a hostile full name
// or password stays one word.
func TestScriptsQuoteValues(t *testing.T) {
	text, err := script.Render(UsersScript, map[string]any{"Base": "dc=x,dc=test", "Op": "add", "UID": "jane", "CN": "J'; rm -rf / #",
		"SN": "x", "Mail": "", "Password": "p$(reboot)'\"`", "Groups": []string{"admins"}, "Leave": []string(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, `'J'"'"'; rm -rf / #'`) && !strings.Contains(text, `'J'\''; rm -rf / #'`) {
		t.Errorf("the full name is not quoted:\n%s", text)
	}
	if strings.Contains(text, "p$(reboot)'\"`\n") {
		t.Error("the password is not quoted")
	}
	cat, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	if r := Readers(cat, []string{"openldap", "freeradius", "keycloak", "etherpad", "adminer"}); strings.Join(r, ",") != "etherpad,freeradius,keycloak" {
		t.Errorf("Readers = %v", r)
	}
}

func TestFirstAdmin(t *testing.T) {
	mk := func(o map[string]any) *site.Site {
		return &site.Site{Domain: "x.test", Components: map[string]site.Component{"openldap": {Options: o}}}
	}
	if _, ok, err := FirstAdmin(mk(nil)); ok || err != nil {
		t.Errorf("no first admin asked: %v %v", ok, err)
	}
	u, ok, err := FirstAdmin(mk(map[string]any{"first_admin": "jane", "first_admin_email": "jane@x.test"}))
	if !ok || err != nil || u.FullName != "jane" || u.Groups[0] != AdminsGroup {
		t.Errorf("%+v %v %v", u, ok, err)
	}
	var fe *FieldError
	if _, _, err := FirstAdmin(mk(map[string]any{"first_admin": "Jane"})); !errors.As(err, &fe) || fe.Field != "components.openldap.options.first_admin" {
		t.Errorf("bad name: %v", err)
	}
	if _, _, err := FirstAdmin(mk(map[string]any{"first_admin": "jane", "first_admin_email": "nope"})); !errors.As(err, &fe) || fe.Field != "components.openldap.options.first_admin_email" {
		t.Errorf("bad e-mail: %v", err)
	}
}

// The identity steps of a site: the directory's after its deploy, the
// first administrator's after the directory's, single sign-on after
// Keycloak's deploy and the directory's.
func TestSteps(t *testing.T) {
	cat, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	s := &site.Site{Name: "x", Domain: "x.test", Components: map[string]site.Component{
		"openldap": {Options: map[string]any{"first_admin": "jane"}}, "keycloak": {}, "forgejo": {}}}
	st, err := Steps(s, cat, "m")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, x := range st {
		got[x.ID()] = x.After()
	}
	want := map[string][]string{
		DirectoryID:  {apps.DeployID("openldap")},
		FirstAdminID: {DirectoryID},
		SSOID:        {apps.DeployID("keycloak"), DirectoryID},
	}
	if len(got) != len(want) {
		t.Fatalf("steps %v; want %v", got, want)
	}
	for id, needs := range want {
		if strings.Join(got[id], ",") != strings.Join(needs, ",") {
			t.Errorf("%s after %v; want %v", id, got[id], needs)
		}
	}
	if st, _ := Steps(&site.Site{Domain: "x.test", Components: map[string]site.Component{"forgejo": {}}}, cat, "m"); len(st) != 0 {
		t.Errorf("a site without identity components has %d identity steps", len(st))
	}
	s.Components["openldap"] = site.Component{Options: map[string]any{"first_admin": "Not Valid"}}
	if _, err := Steps(s, cat, "m"); err == nil {
		t.Error("a bad first_admin did not stop the plan")
	}
}
