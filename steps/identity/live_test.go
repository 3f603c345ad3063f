package identity

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/assets/standins"
	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// liveLab is the real slapd and FreeRADIUS (Debian's, in the stand-in
// images of osixia/openldap and freeradius/freeradius-server) on a
// docker network of this machine, started as the rendered stacks say:
// the openldap container carries the swarm service label the steps look
// for, the FreeRADIUS one gets the rendered configs and secrets at the
// stack's targets. What it cannot show: the swarm itself (secrets mounted
// by docker secret, the overlay network, a container on another node).
type liveLab struct {
	ctx    context.Context
	local  host.Host
	prefix string
	net    string
	domain string
	cat    *apps.Catalog
	store  *secrets.Store
	env    *engine.Env
}

func (l *liveLab) sh(cmd string, stdin string) (string, error) {
	out, err := l.local.Run(l.ctx, cmd, host.RunOpts{Stdin: []byte(stdin)})
	return strings.TrimSpace(out), err
}

func (l *liveLab) logs(n string) string {
	out, _ := l.sh("docker logs --tail 40 "+l.prefix+"-"+n+" 2>&1", "")
	return out
}

func (l *liveLab) input() apps.RenderInput {
	sel := []string{"openldap", "freeradius"}
	s := &site.Site{Domain: l.domain, AdminEmail: "admin@" + l.domain, Components: map[string]site.Component{"openldap": {}, "freeradius": {}}}
	return apps.InputFor(s, sel, func(name string) (string, error) { return l.store.Password(name, apps.SecretLength) })
}

func TestDirectoryUsersAndRADIUSLive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the slapd and FreeRADIUS stand-ins (minutes): not in -short")
	}
	testtools.NeedDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if _, err := standins.Build(ctx, standins.Options{Out: func(s string) { t.Log(s) }}, "openldap", "freeradius"); err != nil {
		t.Fatalf("build the stand-ins: %v", err)
	}
	cat, err := apps.Default()
	if err != nil {
		t.Fatal(err)
	}
	store, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	l := &liveLab{ctx: ctx, local: host.NewLocal("local"), prefix: fmt.Sprintf("cs-identity-%d", os.Getpid()%100000),
		domain: "id.test", cat: cat, store: store}
	l.env = &engine.Env{Host: l.local, Secrets: store, Out: func(s string) { t.Log(s) }}
	l.net = l.prefix + "-net"
	if out, err := l.sh("docker network create "+l.net, ""); err != nil {
		t.Fatalf("network: %v %s", err, out)
	}
	t.Cleanup(func() { l.local.Run(context.Background(), "docker network rm "+l.net, host.RunOpts{}) })

	// OpenLDAP as its stack runs it: the environment of the rendered
	// stack, the admin and config passwords as files at the secrets'
	// targets, the network alias other stacks use.
	in := l.input()
	stack, err := cat.Render("openldap", in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"LDAP_ADMIN_PASSWORD_FILE: /run/secrets/openldap_admin_password", "LDAP_TLS: \"false\"", "ldapi:///"} {
		if !strings.Contains(string(stack.Files["stack.yaml"]), want) {
			t.Errorf("the rendered openldap stack lacks %q", want)
		}
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	for _, s := range []string{"admin-password", "config-password"} {
		v, _ := store.Password(apps.SecretName("openldap", s), apps.SecretLength)
		if err := os.WriteFile(filepath.Join(dir, apps.DockerSecretName("openldap", s)), []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ldapName := l.prefix + "-openldap"
	t.Cleanup(func() { l.local.Run(context.Background(), "docker rm -f -v "+ldapName, host.RunOpts{}) })
	run := "docker run -d --name " + ldapName + " --network " + l.net + " --network-alias " + apps.Hostname("openldap", "openldap") +
		" --hostname openldap --label com.docker.swarm.service.name=" + Service + " -v " + dir + ":/run/secrets:ro" +
		" -e LDAP_ORGANISATION=" + l.domain + " -e LDAP_DOMAIN=" + l.domain + " -e LDAP_BASE_DN=" + BaseDN(l.domain) +
		" -e LDAP_ADMIN_PASSWORD_FILE=/run/secrets/openldap_admin_password -e LDAP_CONFIG_PASSWORD_FILE=/run/secrets/openldap_config_password" +
		" -e LDAP_TLS=false -e LDAP_NOFILE=1024 osixia/openldap:1.5.0"
	if out, err := l.sh(run, ""); err != nil {
		t.Fatalf("run openldap: %v %s", err, out)
	}

	// The directory step: Check reads the live tree, Apply adds it, and
	// then Check finds it done.
	step := DirectoryStep(l.domain, Readers(cat, in.Selected), "local")
	var c Container
	deadline := time.Now().Add(5 * time.Minute)
	for {
		cc, found, err := Find(ctx, l.local, nil)
		if err == nil && found {
			if _, err := l.sh("docker exec "+cc.ID+" ldapsearch -Q -Y EXTERNAL -H ldapi:/// -b '' -s base", ""); err == nil {
				c = cc
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("openldap did not answer:\n%s", l.logs("openldap"))
		}
		time.Sleep(2 * time.Second)
	}
	if done, err := step.Check(ctx, l.env); err != nil || done {
		t.Fatalf("check on an empty directory: done=%v err=%v; want not done", done, err)
	}
	if err := step.Apply(ctx, l.env); err != nil {
		t.Fatalf("apply the directory: %v\n%s", err, l.logs("openldap"))
	}
	if done, err := step.Check(ctx, l.env); err != nil || !done {
		t.Fatalf("check after apply: done=%v err=%v; want done", done, err)
	}

	// The first administrator the wizard asked for: made once, in admins,
	// with the password of the secrets file.
	site1 := &site.Site{Domain: l.domain, Components: map[string]site.Component{"openldap": {Options: map[string]any{
		"first_admin": "first.admin", "first_admin_name": "First Admin", "first_admin_email": "first@id.test"}}}}
	fu, ok, err := FirstAdmin(site1)
	if err != nil || !ok {
		t.Fatalf("FirstAdmin: %v %v", ok, err)
	}
	first := FirstAdminStep(l.domain, fu, "local")
	if done, err := first.Check(ctx, l.env); err != nil || done {
		t.Fatalf("first admin check before: %v %v", done, err)
	}
	if err := first.Apply(ctx, l.env); err != nil {
		t.Fatalf("first admin: %v", err)
	}
	if done, err := first.Check(ctx, l.env); err != nil || !done {
		t.Fatalf("first admin check after: %v %v", done, err)
	}

	// The read-only account of FreeRADIUS reads people but no password hash.
	base := BaseDN(l.domain)
	frpw, _ := store.Password(BindSecret("freeradius"), apps.SecretLength)
	readerSearch := "docker exec -i " + c.ID + " ldapsearch -x -LLL -H ldap://openldap -D " + ReaderDN(l.domain, "freeradius") + " -y /dev/stdin -b ou=people," + base + " "

	d := Directory{Container: c, Domain: l.domain}
	pw, err := GeneratePassword()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Add(ctx, NewUser{Name: "jane.doe", FullName: "Jane Doé", Email: "jane@id.test", Password: pw, Groups: []string{AdminsGroup}}); err != nil {
		t.Fatalf("users add: %v", err)
	}
	bind := func(user, password string) error {
		_, err := l.sh("docker exec -i "+c.ID+" ldapwhoami -x -H ldap://openldap -D "+UserDN(l.domain, user)+" -y /dev/stdin", password)
		return err
	}
	if err := bind("jane.doe", pw); err != nil {
		t.Fatalf("LDAP bind of an added user: %v", err)
	}
	if err := bind("jane.doe", pw+"x"); err == nil {
		t.Error("LDAP bind with a wrong password succeeded")
	}
	if out, err := l.sh(readerSearch+"'(uid=jane.doe)' cn userPassword memberOf", frpw); err != nil || !strings.Contains(out, "cn:: ") || strings.Contains(out, "userPassword") || !strings.Contains(out, "memberOf: cn=admins,ou=groups,"+base) {
		t.Errorf("the freeradius account reads jane: %q %v; want her cn and memberOf, no userPassword", out, err)
	}
	if err := d.Add(ctx, NewUser{Name: "jane.doe", FullName: "Jane Again", Password: pw}); !errors.Is(err, ErrExists) {
		t.Errorf("a second add: %v; want ErrExists", err)
	}
	var fe *FieldError
	if err := d.Add(ctx, NewUser{Name: "Jane Doe", FullName: "x", Password: pw}); !errors.As(err, &fe) || fe.Field != "name" {
		t.Errorf("a bad name: %v; want a FieldError on name", err)
	}
	firstPW, _ := store.Password(FirstAdminSecret, PasswordLength)
	if err := bind("first.admin", firstPW); err != nil {
		t.Errorf("LDAP bind of the first administrator with openldap-first-admin-password: %v", err)
	}
	users, err := d.List(ctx)
	if err != nil || len(users) != 2 || users[1].Name != "jane.doe" || users[1].FullName != "Jane Doé" || users[1].Disabled || strings.Join(users[1].Groups, ",") != "admins" ||
		users[0].Name != "first.admin" || strings.Join(users[0].Groups, ",") != "admins" || users[0].Email != "first@id.test" {
		t.Errorf("users list: %+v %v", users, err)
	}

	// FreeRADIUS with the rendered stack's files at their targets.
	fr, err := cat.Render("freeradius", in)
	if err != nil {
		t.Fatal(err)
	}
	frdir := t.TempDir()
	os.Chmod(frdir, 0o755)
	for name, target := range map[string]string{"clients.conf": "/etc/freeradius/clients.conf", "default.conf": "/etc/freeradius/sites-enabled/default",
		"ldap.conf": "/etc/freeradius/mods-enabled/ldap", "clients.secret": "/run/secrets/freeradius_clients", "ldap.secret": "/run/secrets/freeradius_ldap"} {
		data, ok := fr.Files[name]
		if !ok {
			t.Fatalf("the freeradius stack has no %s", name)
		}
		if !strings.Contains(string(fr.Files["stack.yaml"]), "target: "+strings.TrimPrefix(target, "/run/secrets/")) {
			t.Errorf("the freeradius stack does not put %s at %s", name, target)
		}
		os.WriteFile(filepath.Join(frdir, name), data, 0o644)
	}
	frName := l.prefix + "-freeradius"
	t.Cleanup(func() { l.local.Run(context.Background(), "docker rm -f -v "+frName, host.RunOpts{}) })
	run = "docker run -d --name " + frName + " --network " + l.net
	for name, target := range map[string]string{"clients.conf": "/etc/freeradius/clients.conf", "default.conf": "/etc/freeradius/sites-enabled/default",
		"ldap.conf": "/etc/freeradius/mods-enabled/ldap", "clients.secret": "/run/secrets/freeradius_clients", "ldap.secret": "/run/secrets/freeradius_ldap"} {
		run += " -v " + filepath.Join(frdir, name) + ":" + target + ":ro"
	}
	if out, err := l.sh(run+" freeradius/freeradius-server:3.2.3", ""); err != nil {
		t.Fatalf("run freeradius: %v %s", err, out)
	}
	secret, _ := store.Password(apps.SecretName("freeradius", "clients-secret"), apps.SecretLength)
	frIP, err := l.sh("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "+frName, "")
	if err != nil {
		t.Fatal(err)
	}
	// radtest from another container of the network (a client address in
	// the stack's default client networks); the password on its command
	// line is this test's throwaway one.
	radtest := func(user, password string) string {
		out, _ := l.sh("docker run --rm --network "+l.net+" freeradius/freeradius-server:3.2.3 radtest "+host.Quote(user)+" "+host.Quote(password)+" "+frIP+" 0 "+host.Quote(secret), "")
		return out
	}
	var out string
	for i := 0; i < 30; i++ {
		if out = radtest("jane.doe", pw); strings.Contains(out, "Access-Accept") {
			break
		}
		if state, _ := l.sh("docker inspect -f '{{.State.Running}}' "+frName, ""); state != "true" {
			check, _ := l.sh(strings.Replace(run, "docker run -d --name "+frName, "docker run --rm", 1)+" freeradius/freeradius-server:3.2.3 freeradius -C -X 2>&1 | tail -20", "")
			t.Fatalf("freeradius stopped; its configuration check says:\n%s", check)
		}
		time.Sleep(2 * time.Second)
	}
	if !strings.Contains(out, "Access-Accept") {
		t.Fatalf("radtest for an added user: %s\nfreeradius:\n%s", out, l.logs("freeradius"))
	}
	if out := radtest("jane.doe", "wrong-password-123"); !strings.Contains(out, "Access-Reject") {
		t.Errorf("radtest with a wrong password: %s", out)
	}

	// Disabled: both refuse; enabled again: both accept.
	if err := d.SetDisabled(ctx, "jane.doe", true); err != nil {
		t.Fatalf("users disable: %v", err)
	}
	if err := bind("jane.doe", pw); err == nil {
		t.Error("LDAP bind of a disabled user succeeded")
	}
	if out := radtest("jane.doe", pw); !strings.Contains(out, "Access-Reject") {
		t.Errorf("radtest of a disabled user: %s", out)
	}
	if users, _ := d.List(ctx); len(users) != 2 || !users[1].Disabled || users[0].Disabled {
		t.Errorf("users list after disable: %+v", users)
	}
	if err := d.SetDisabled(ctx, "jane.doe", false); err != nil {
		t.Fatalf("users enable: %v", err)
	}
	if err := bind("jane.doe", pw); err != nil {
		t.Errorf("LDAP bind after enable: %v", err)
	}
	if out := radtest("jane.doe", pw); !strings.Contains(out, "Access-Accept") {
		t.Errorf("radtest after enable: %s", out)
	}

	// passwd, groups, remove.
	pw2, _ := GeneratePassword()
	if err := d.Passwd(ctx, "jane.doe", pw2); err != nil {
		t.Fatalf("users passwd: %v", err)
	}
	if bind("jane.doe", pw) == nil || bind("jane.doe", pw2) != nil {
		t.Error("after passwd the old password still binds or the new one does not")
	}
	if g, err := d.Groups(ctx, "jane.doe", []string{"staff"}, []string{AdminsGroup}); err != nil || strings.Join(g, ",") != "staff" {
		t.Errorf("users groups: %v %v; want staff", g, err)
	}
	if err := d.Passwd(ctx, "nobody.here", pw2); !errors.Is(err, ErrNotFound) {
		t.Errorf("passwd of a missing user: %v; want ErrNotFound", err)
	}
	if err := d.Remove(ctx, "jane.doe"); err != nil {
		t.Fatalf("users remove: %v", err)
	}
	if bind("jane.doe", pw2) == nil {
		t.Error("a removed user still binds")
	}
	if out, _ := l.sh("docker exec "+c.ID+" ldapsearch -Q -LLL -Y EXTERNAL -H ldapi:/// -b ou=groups,"+base+" '(cn=staff)' dn", ""); strings.Contains(out, "staff") {
		t.Errorf("the group left empty by remove is still there: %s", out)
	}

	// A re-run changes nothing.
	if done, err := step.Check(ctx, l.env); err != nil || !done {
		t.Errorf("check at the end: done=%v err=%v", done, err)
	}
	if done, err := first.Check(ctx, l.env); err != nil || !done {
		t.Errorf("first admin check at the end: done=%v err=%v", done, err)
	}
}
