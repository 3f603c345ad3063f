package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
)

// TestAppsOnTwoLabHosts deploys the catalog apps whose stand-ins build
// from Debian packages or npm (PostgreSQL, MariaDB, Redis, Adminer,
// OpenLDAP, FreeRADIUS, Etherpad) on a 2-node lab: the web apps answer
// through the edge nginx by their subdomains, the data services answer
// with their generated passwords, and data written before a restart of
// each service is there after it.
func TestAppsOnTwoLabHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.yaml")
	siteYAML := fmt.Sprintf(`version: 1
topology: lab
domain: apps.test
admin_email: admin@apps.test
lab: {nodes: 2, network: cs-apps-%d, image: docker}
prepare: {node: distro}
components:
  postgres: {}
  mariadb: {}
  redis: {}
  adminer: {}
  openldap: {}
  freeradius: {options: {ldap: false}}
  etherpad: {}
`, os.Getpid()%100000)
	sess := openLabSite(t, sitePath, siteYAML)
	freshApply(t, ctx, sess)
	// Every app answers its probe (a page through the edge, a command in
	// its container) as status sees it.
	st := healthyStatus(t, ctx, sess)
	if len(st.Components) < 8 {
		t.Errorf("status lists %d components: %+v", len(st.Components), st.Components)
	}
	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := sess.Hosts.Spec("lab-1")
	secret := func(name string) string {
		v, ok := sess.Secrets.Get(name)
		if !ok {
			t.Fatalf("no secret %s", name)
		}
		return v
	}
	// eventually runs cmd on the manager until its output contains want.
	eventually := func(what, cmd, want string) bool {
		t.Helper()
		var out string
		for i := 0; i < 90; i++ {
			out, _ = mgr.Run(ctx, cmd+" 2>&1 || true", host.RunOpts{})
			if strings.Contains(out, want) {
				return true
			}
			time.Sleep(2 * time.Second)
		}
		t.Errorf("%s: want %q, last answer:\n%s", what, want, out)
		return false
	}
	exec := func(service, env, cmd string) string {
		return "docker exec " + env + " $(docker ps -q -f name=" + service + ". | head -n1) sh -c " + host.Quote(cmd)
	}

	// Web apps through the edge, by name, from the LAN.
	web := func(sub string) string {
		name := sub + ".apps.test"
		return "curl -sk --max-time 5 --resolve " + name + ":443:" + spec.Address + " https://" + name + "/"
	}
	eventually("adminer through the edge", web("adminer"), "Adminer")
	eventually("etherpad through the edge", web("pad"), "Etherpad")

	// Data services, with their generated passwords.
	pg := func(sql string) string {
		return exec("postgres_postgres", "-e PGPASSWORD="+host.Quote(secret("postgres-admin-password")), "psql -h 127.0.0.1 -U postgres -tAc "+host.Quote(sql))
	}
	eventually("postgres", pg("CREATE TABLE IF NOT EXISTS keep (v text); INSERT INTO keep VALUES ('kept')"), "INSERT")
	my := exec("mariadb_mariadb", "-e MYSQL_PWD="+host.Quote(secret("mariadb-root-password")), "mariadb -uroot -e \"CREATE DATABASE IF NOT EXISTS keep; CREATE TABLE IF NOT EXISTS keep.t (v text); INSERT INTO keep.t VALUES ('kept'); SELECT 'written'\"")
	eventually("mariadb", my, "written")
	rd := exec("redis_redis", "", "REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' /run/secrets/redis_conf)\" redis-cli set keep kept")
	eventually("redis", rd, "OK")
	ldif := "dn: cn=kept,dc=apps,dc=test\nobjectClass: organizationalRole\ncn: kept\n"
	eventually("openldap", "printf %s "+host.Quote(ldif)+" | "+exec("openldap_openldap", "-i -e PW="+host.Quote(secret("openldap-admin-password")), "ldapadd -x -H ldapi:/// -D cn=admin,dc=apps,dc=test -w \"$PW\""), "adding new entry")
	eventually("freeradius runs", "docker service ps freeradius_freeradius --filter desired-state=running --format '{{.CurrentState}}'", "Running")

	// Restart every data service; the data is still there.
	for _, svc := range []string{"postgres_postgres", "mariadb_mariadb", "redis_redis", "openldap_openldap"} {
		if out, err := mgr.Run(ctx, "docker service update --force --detach=false --quiet "+svc, host.RunOpts{}); err != nil {
			t.Errorf("restart %s: %v %s", svc, err, out)
		}
	}
	eventually("postgres after restart", pg("SELECT v FROM keep"), "kept")
	eventually("mariadb after restart", exec("mariadb_mariadb", "-e MYSQL_PWD="+host.Quote(secret("mariadb-root-password")), "mariadb -uroot -N -e 'SELECT v FROM keep.t'"), "kept")
	eventually("redis after restart", exec("redis_redis", "", "REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' /run/secrets/redis_conf)\" redis-cli get keep"), "kept")
	eventually("openldap after restart", exec("openldap_openldap", "-e PW="+host.Quote(secret("openldap-admin-password")), "ldapsearch -x -H ldapi:/// -D cn=admin,dc=apps,dc=test -w \"$PW\" -b dc=apps,dc=test cn=kept cn"), "cn: kept")

	// Nothing changed: nothing to do.
	noopApply(t, ctx, sess, "second apply")
}
