package standins

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

// The app catalog's stand-ins: each image reference the app stacks use
// maps to one, and the folders carry what Build needs.
func TestAppStandInsCoverTheCatalog(t *testing.T) {
	want := map[string]string{
		"mariadb:11.4":                                   "mariadb",
		"docker.io/library/mariadb:10.11":                "mariadb",
		"mysql:8.4":                                      "mariadb",
		"redis:7-alpine":                                 "redis",
		"valkey/valkey:8":                                "redis",
		"adminer:5":                                      "adminer",
		"adminer:4.8.1":                                  "adminer",
		"osixia/openldap:1.5.0":                          "openldap",
		"freeradius/freeradius-server:latest-3.2":        "freeradius",
		"freeradius/freeradius-server:3.2.3":             "freeradius",
		"docker.io/etherpad/etherpad:2":                  "etherpad",
		"etherpad/etherpad:latest":                       "etherpad",
		"freeradius/freeradius-server:latest-3.2-alpine": "freeradius",
		"audreyt/ethercalc":                              "ethercalc",
		"superseriousbusiness/gotosocial:0.17.3":         "gotosocial",
	}
	for ref, name := range want {
		if got, ok := ForImage(ref); !ok || got != name {
			t.Errorf("ForImage(%s) = %q, %v; want %s", ref, got, ok, name)
		}
	}
	for _, name := range []string{"mariadb", "redis", "adminer", "openldap", "freeradius", "etherpad", "ethercalc", "gotosocial", "oidc-provider"} {
		data, err := files.ReadFile(name + "/Dockerfile")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, must := range []string{"ARG BASE", "FROM ${BASE}", "LABEL org.collabstack.standin=" + name} {
			if !strings.Contains(string(data), must) {
				t.Errorf("%s/Dockerfile lacks %q", name, must)
			}
		}
		if strings.Contains(string(data), "apt-get install") && !strings.Contains(string(data), "--no-install-recommends") {
			t.Errorf("%s/Dockerfile: apt-get install without --no-install-recommends", name)
		}
	}
	if !usesLocalCAs("etherpad") || !usesLocalCAs("ethercalc") || !usesLocalCAs("oidc-provider") || !usesLocalCAs("gotosocial") || usesLocalCAs("mariadb") {
		t.Error("only the stand-ins that fetch over HTTPS (npm, the Go module proxy) take the build host's CA certificates")
	}
	// The test OpenID provider stands in for no image of the catalog (not
	// Keycloak's: a lab deploy of Keycloak must not get it).
	if got, ok := ForImage("quay.io/keycloak/keycloak:26.0.7"); ok {
		t.Errorf("Keycloak's image maps to the stand-in %s", got)
	}
}

// appLab runs stand-in containers on a user-defined network of this
// machine's dockerd and removes them (and their volumes) afterwards.
type appLab struct {
	ctx    context.Context
	local  host.Host
	prefix string
	net    string
}

func (l *appLab) sh(cmd string) (string, error) {
	out, err := l.local.Run(l.ctx, cmd, host.RunOpts{})
	return strings.TrimSpace(out), err
}

func (l *appLab) name(n string) string { return l.prefix + "-" + n }

// volume names a docker volume of the test, removed at the end.
func (l *appLab) volume(t *testing.T, n string) string {
	v := l.name(n)
	t.Cleanup(func() { l.local.Run(context.Background(), "docker volume rm -f "+v, host.RunOpts{}) })
	return v
}

// run starts container n (detached, on the lab network) with args.
func (l *appLab) run(t *testing.T, n, args string) {
	t.Helper()
	t.Cleanup(func() { l.local.Run(context.Background(), "docker rm -f -v "+l.name(n), host.RunOpts{}) })
	if out, err := l.sh("docker run -d --name " + l.name(n) + " --network " + l.net + " " + args); err != nil {
		t.Fatalf("run %s: %v %s", n, err, out)
	}
}

// remove stops and removes container n, keeping its named volumes.
func (l *appLab) remove(t *testing.T, n string) {
	t.Helper()
	if out, err := l.sh("docker rm -f " + l.name(n)); err != nil {
		t.Fatalf("remove %s: %v %s", n, err, out)
	}
}

func (l *appLab) ip(t *testing.T, n string) string {
	t.Helper()
	out, err := l.sh("docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' " + l.name(n))
	if err != nil || out == "" {
		t.Fatalf("address of %s: %q %v", n, out, err)
	}
	return out
}

func (l *appLab) logs(n string) string {
	out, _ := l.sh("docker logs " + l.name(n) + " 2>&1")
	return out
}

// poll retries cmd until its output holds want; it fails the test with
// the container's last log lines if that does not happen.
func (l *appLab) poll(t *testing.T, n, what, cmd, want string) bool {
	t.Helper()
	var out string
	var err error
	for i := 0; i < 90; i++ {
		if out, err = l.sh(cmd); err == nil && strings.Contains(out, want) {
			return true
		}
		time.Sleep(time.Second)
	}
	logs := l.logs(n)
	if lines := strings.Split(logs, "\n"); len(lines) > 30 {
		logs = strings.Join(lines[len(lines)-30:], "\n")
	}
	t.Errorf("%s: %q, %v; want %q\nlogs of %s:\n%s", what, out, err, want, n, logs)
	return false
}

// must runs cmd once and fails the test unless its output holds want.
func (l *appLab) must(t *testing.T, what, cmd, want string) {
	t.Helper()
	if out, err := l.sh(cmd); err != nil || !strings.Contains(out, want) {
		t.Errorf("%s: %q, %v; want %q", what, out, err, want)
	}
}

// mustFail runs cmd once and fails the test if it succeeds.
func (l *appLab) mustFail(t *testing.T, what, cmd string) {
	t.Helper()
	if out, err := l.sh(cmd); err == nil {
		t.Errorf("%s: succeeded, want a failure: %q", what, out)
	}
}

func (l *appLab) saysStandIn(t *testing.T, n string) {
	t.Helper()
	if !strings.Contains(l.logs(n), "STAND-IN IMAGE") {
		t.Errorf("%s does not say on start that it is a stand-in", n)
	}
}

// writeFiles writes files (0644) into a fresh directory that containers
// can read, and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAppStandInsWork builds the app catalog's stand-ins and uses each as
// an app stack written for the real image would, on this machine's
// dockerd: a user-defined network, no published ports.
func TestAppStandInsWork(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs images (minutes): not in -short")
	}
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	local := host.NewLocal("local")
	start := time.Now()
	_, err := Build(ctx, Options{Out: func(l string) { t.Log(l) }},
		"mariadb", "redis", "adminer", "openldap", "freeradius", "etherpad", "ethercalc", "postgres:16")
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Logf("built the app stand-ins in %s", time.Since(start).Round(time.Second))

	l := &appLab{ctx: ctx, local: local, prefix: fmt.Sprintf("cs-appstandin-%d", os.Getpid()%100000)}
	l.net = l.prefix + "-net"
	if out, err := l.sh("docker network create " + l.net); err != nil {
		t.Fatalf("network: %v %s", err, out)
	}
	defer local.Run(context.Background(), "docker network rm "+l.net, host.RunOpts{})

	// Parallel subtests end before the network goes.
	t.Run("apps", func(t *testing.T) {
		t.Run("mariadb+adminer", func(t *testing.T) { t.Parallel(); testMariaDB(t, l) })
		t.Run("mysql", func(t *testing.T) { t.Parallel(); testMySQLAlias(t, l) })
		t.Run("redis", func(t *testing.T) { t.Parallel(); testRedis(t, l) })
		t.Run("openldap", func(t *testing.T) { t.Parallel(); testOpenLDAP(t, l) })
		t.Run("freeradius", func(t *testing.T) { t.Parallel(); testFreeRADIUS(t, l) })
		t.Run("etherpad", func(t *testing.T) { t.Parallel(); testEtherpad(t, l) })
		t.Run("ethercalc", func(t *testing.T) { t.Parallel(); testEtherCalc(t, l) })
	})
}

// mariadb: database and user from *_FILE secrets (readable by root
// only, as swarm may mount them), an init script, the data surviving a
// new container on the same volume, healthcheck.sh; then adminer logs in
// to it by its service name.
func testMariaDB(t *testing.T, l *appLab) {
	secrets := writeFiles(t, map[string]string{"root": "r00t-pw", "app": `app'pw"\x`})
	os.Chmod(filepath.Join(secrets, "root"), 0o600)
	os.Chmod(filepath.Join(secrets, "app"), 0o600)
	initdb := writeFiles(t, map[string]string{"01-schema.sql": "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT);\n"})
	data := l.volume(t, "mariadb-data")
	args := "-v " + data + ":/var/lib/mysql -v " + secrets + ":/run/secrets:ro -v " + initdb + ":/docker-entrypoint-initdb.d:ro " +
		"-e MARIADB_ROOT_PASSWORD_FILE=/run/secrets/root -e MYSQL_DATABASE=kopa -e MARIADB_USER=app " +
		"-e MARIADB_PASSWORD_FILE=/run/secrets/app mariadb:11.4 --character-set-server=utf8mb4"
	l.run(t, "mariadb", args)
	ip := l.ip(t, "mariadb")
	app := "docker exec " + l.name("mariadb") + " mariadb -h " + ip + " -u app -p" + host.Quote(`app'pw"\x`) + " kopa -N -e "
	if !l.poll(t, "mariadb", "app user over TCP", app+host.Quote("INSERT INTO notes VALUES (1, 'kept'); SELECT body FROM notes"), "kept") {
		return
	}
	l.saysStandIn(t, "mariadb")
	l.must(t, "root over TCP", "docker exec "+l.name("mariadb")+" mariadb -h "+ip+" -uroot -pr00t-pw -N -e 'SELECT @@character_set_server'", "utf8mb4")
	l.mustFail(t, "wrong password", "docker exec "+l.name("mariadb")+" mariadb -h "+ip+" -u app -pwrong kopa -e 'SELECT 1'")
	l.must(t, "healthcheck", "docker exec "+l.name("mariadb")+" healthcheck.sh --connect --innodb_initialized && echo healthy", "healthy")
	l.must(t, "server user", "docker exec "+l.name("mariadb")+" ps -o user= -p 1", "mysql")

	// A new container on the same volume: no init, same data, and the
	// secrets are not needed any more.
	l.remove(t, "mariadb")
	l.run(t, "mariadb", "-v "+data+":/var/lib/mysql mariadb:11.4")
	ip = l.ip(t, "mariadb")
	app = "docker exec " + l.name("mariadb") + " mariadb -h " + ip + " -u app -p" + host.Quote(`app'pw"\x`) + " kopa -N -e "
	if !l.poll(t, "mariadb", "data after a restart", app+host.Quote("SELECT body FROM notes WHERE id = 1"), "kept") {
		return
	}
	if strings.Contains(l.logs("mariadb"), "Initializing database files") {
		t.Error("mariadb initialised a data directory that was not empty")
	}

	// adminer: the login page names ADMINER_DEFAULT_SERVER, and logging
	// in reaches the database through the service name.
	l.run(t, "adminer", "-e ADMINER_DEFAULT_SERVER="+l.name("mariadb")+" -e ADMINER_PLUGINS=tables-filter -e ADMINER_DESIGN=dracula adminer:latest")
	page := "docker exec " + l.name("adminer") + " curl -fsS http://127.0.0.1:8080/"
	if !l.poll(t, "adminer", "login page", page, "Login - Adminer") {
		return
	}
	l.saysStandIn(t, "adminer")
	l.must(t, "default server", page, `value="`+l.name("mariadb")+`"`)
	l.must(t, "design", page, "adminer.css")
	l.must(t, "plugin enabled", "docker exec "+l.name("adminer")+" cat plugins-enabled/001-tables-filter.php", "AdminerTablesFilter")
	login := "docker exec " + l.name("adminer") + " curl -sS -L -c /tmp/c -b /tmp/c" +
		" --data-urlencode auth[driver]=server --data-urlencode auth[server]=" + l.name("mariadb") +
		" --data-urlencode auth[username]=app --data-urlencode " + host.Quote(`auth[password]=app'pw"\x`) +
		" --data-urlencode auth[db]=kopa http://127.0.0.1:8080/"
	l.must(t, "adminer login", login, "Database: kopa")
}

// mysql:8.x references get the same server, with MySQL-only options
// skipped and the MYSQL_* variables.
func testMySQLAlias(t *testing.T, l *appLab) {
	l.run(t, "mysql", "-e MYSQL_ROOT_PASSWORD=my-root -e MYSQL_DATABASE=legacy -e MYSQL_USER=old -e MYSQL_PASSWORD=old-pw "+
		"mysql:8.0 mysqld --default-authentication-plugin=mysql_native_password")
	ip := l.ip(t, "mysql")
	l.poll(t, "mysql", "MYSQL_* user", "docker exec "+l.name("mysql")+" mysql -h "+ip+" -u old -pold-pw legacy -N -e 'SELECT DATABASE()'", "legacy")
	l.must(t, "root", "docker exec "+l.name("mysql")+" mysqladmin -h "+ip+" -uroot -pmy-root ping", "alive")
}

// redis (and valkey): command arguments pass through, --requirepass
// guards it, appendonly data in /data survives a new container.
func testRedis(t *testing.T, l *appLab) {
	data := l.volume(t, "redis-data")
	l.run(t, "redis", "-v "+data+":/data redis:7-alpine redis-server --appendonly yes --requirepass s3cret")
	ip := l.ip(t, "redis")
	cli := "docker exec " + l.name("redis") + " redis-cli -h " + ip + " -a s3cret --no-auth-warning "
	if !l.poll(t, "redis", "PING with the password", cli+"PING", "PONG") {
		return
	}
	l.saysStandIn(t, "redis")
	l.must(t, "PING without password", "docker exec "+l.name("redis")+" redis-cli -h "+ip+" PING", "NOAUTH")
	l.must(t, "SET", cli+"SET kopa kept", "OK")
	l.must(t, "server user", "docker exec "+l.name("redis")+" ps -o user= -p 1", "redis")
	l.remove(t, "redis")
	l.run(t, "redis", "-v "+data+":/data redis:7-alpine redis-server --appendonly yes --requirepass s3cret")
	ip = l.ip(t, "redis")
	l.poll(t, "redis", "data after a restart", "docker exec "+l.name("redis")+" redis-cli -h "+ip+" -a s3cret --no-auth-warning GET kopa", "kept")

	l.run(t, "valkey", "valkey/valkey:8 valkey-server --requirepass v4lkey")
	vip := l.ip(t, "valkey")
	l.poll(t, "valkey", "valkey PING", "docker exec "+l.name("valkey")+" valkey-cli -h "+vip+" -a v4lkey --no-auth-warning PING", "PONG")
}

// openldap: bootstrap from the environment (admin password from a file,
// a non-ASCII organisation), a custom LDIF with a group (memberOf), the
// admin DN answering ldapsearch, nothing for anonymous binds; a new
// container on the same volumes keeps the data and takes a new admin
// password; ldaps with LDAP_TLS_VERIFY_CLIENT=try.
func testOpenLDAP(t *testing.T, l *appLab) {
	ldif := `dn: ou=people,{{ LDAP_BASE_DN }}
objectClass: organizationalUnit
ou: people

dn: uid=alice,ou=people,{{ LDAP_BASE_DN }}
objectClass: inetOrgPerson
uid: alice
cn: Alice
sn: Smith
userPassword: alice-pw

dn: cn=staff,{{ LDAP_BASE_DN }}
objectClass: groupOfUniqueNames
cn: staff
uniqueMember: uid=alice,ou=people,{{ LDAP_BASE_DN }}
`
	dir := writeFiles(t, map[string]string{"01-people.ldif": ldif, "admin": "ldap-admin-pw"})
	os.Chmod(filepath.Join(dir, "admin"), 0o600)
	db, cfg := l.volume(t, "ldap-db"), l.volume(t, "ldap-config")
	vols := "-v " + db + ":/var/lib/ldap -v " + cfg + ":/etc/ldap/slapd.d "
	l.run(t, "openldap", "--hostname ldap.kopa.test "+vols+
		"-v "+dir+"/01-people.ldif:/container/service/slapd/assets/config/bootstrap/ldif/custom/01-people.ldif:ro "+
		"-v "+dir+"/admin:/run/secrets/ldap-admin:ro "+
		"-e LDAP_ORGANISATION=Копа -e LDAP_DOMAIN=kopa.test -e LDAP_ADMIN_PASSWORD_FILE=/run/secrets/ldap-admin "+
		"osixia/openldap:1.5.0 --copy-service")
	ip := l.ip(t, "openldap")
	search := "docker exec " + l.name("openldap") + " ldapsearch -x -LLL -H ldap://" + ip + " -b dc=kopa,dc=test "
	admin := search + "-D cn=admin,dc=kopa,dc=test -w "
	if !l.poll(t, "openldap", "ldapsearch as admin", admin+"ldap-admin-pw '(uid=alice)' memberOf", "memberOf: cn=staff,dc=kopa,dc=test") {
		return
	}
	l.saysStandIn(t, "openldap")
	l.must(t, "organisation", admin+"ldap-admin-pw -s base o", "o:: 0JrQvtC/0LA=")
	l.mustFail(t, "wrong admin password", admin+"wrong -s base")
	if out, _ := l.sh(search + "'(uid=alice)' dn"); strings.Contains(out, "alice") {
		t.Errorf("anonymous bind reads entries: %s", out)
	}
	l.must(t, "user bind", "docker exec "+l.name("openldap")+" ldapwhoami -x -H ldap://"+ip+" -D uid=alice,ou=people,dc=kopa,dc=test -w alice-pw", "uid=alice")
	l.must(t, "config admin", "docker exec "+l.name("openldap")+" ldapsearch -x -LLL -H ldap://"+ip+" -D cn=admin,cn=config -w config -b cn=config '(olcOverlay=*)' dn", "memberof")

	l.remove(t, "openldap")
	l.run(t, "openldap", vols+"-e LDAP_DOMAIN=kopa.test -e LDAP_ADMIN_PASSWORD=new-admin-pw -e LDAP_TLS_VERIFY_CLIENT=try osixia/openldap:1.5.0")
	ip = l.ip(t, "openldap")
	search = "docker exec " + l.name("openldap") + " ldapsearch -x -LLL -H ldap://" + ip + " -b dc=kopa,dc=test -D cn=admin,dc=kopa,dc=test -w "
	if !l.poll(t, "openldap", "data after a restart", search+"new-admin-pw '(uid=alice)' dn", "uid=alice") {
		return
	}
	if strings.Contains(l.logs("openldap"), "init new ldap server") {
		t.Error("openldap bootstrapped volumes that were not empty")
	}
	l.mustFail(t, "old admin password", search+"ldap-admin-pw -s base")
	l.must(t, "ldaps", "docker exec -e LDAPTLS_REQCERT=never "+l.name("openldap")+" ldapwhoami -x -H ldaps://"+ip+" -D cn=admin,dc=kopa,dc=test -w new-admin-pw", "cn=admin")
}

// freeradius: clients.conf through the -alpine tags' /etc/raddb path, a
// users file in /etc/freeradius; radtest from another container.
func testFreeRADIUS(t *testing.T, l *appLab) {
	dir := writeFiles(t, map[string]string{
		"clients.conf": "client labnet {\n\tipaddr = 0.0.0.0/0\n\tsecret = lab-secret\n}\n",
		"authorize":    "bob\tCleartext-Password := \"hello\"\n",
	})
	l.run(t, "freeradius", "-v "+dir+"/clients.conf:/etc/raddb/clients.conf:ro -v "+dir+"/authorize:/etc/freeradius/mods-config/files/authorize:ro freeradius/freeradius-server:latest-3.2")
	ip := l.ip(t, "freeradius")
	radtest := "docker run --rm --network " + l.net + " freeradius/freeradius-server:latest-3.2 radtest bob "
	if !l.poll(t, "freeradius", "radtest", radtest+"hello "+ip+" 0 lab-secret", "Access-Accept") {
		return
	}
	l.saysStandIn(t, "freeradius")
	l.must(t, "radtest with a wrong password", radtest+"wrong "+ip+" 0 lab-secret || true", "Access-Reject")
	l.must(t, "foreground freeradius", "docker exec "+l.name("freeradius")+" ps -o args= -p 1", "freeradius -f")
}

// etherpad: the upstream compose's environment with the postgres
// stand-in as its database, started by upstream's CMD (pnpm run prod);
// the admin page takes ADMIN_PASSWORD and a pad made over the HTTP API
// lands in postgres.
func testEtherpad(t *testing.T, l *appLab) {
	l.run(t, "etherpad-db", "-e POSTGRES_USER=etherpad -e POSTGRES_PASSWORD=pad-db-pw -e POSTGRES_DB=etherpad postgres:16")
	if !l.poll(t, "etherpad-db", "postgres", "docker exec -e PGPASSWORD=pad-db-pw "+l.name("etherpad-db")+" psql -h 127.0.0.1 -U etherpad -d etherpad -tAc 'SELECT 1'", "1") {
		return
	}
	l.run(t, "etherpad", "-e ADMIN_PASSWORD=pad-admin -e DB_TYPE=postgres -e DB_HOST="+l.name("etherpad-db")+
		" -e DB_PORT=5432 -e DB_NAME=etherpad -e DB_USER=etherpad -e DB_PASS=pad-db-pw -e TRUST_PROXY=true etherpad/etherpad:2")
	curl := "docker exec " + l.name("etherpad") + " curl -sS "
	if !l.poll(t, "etherpad", "front page", curl+"http://127.0.0.1:9001/", "Etherpad") {
		return
	}
	l.saysStandIn(t, "etherpad")
	l.must(t, "admin without password", curl+"-o /dev/null -w '%{http_code}' http://127.0.0.1:9001/admin/", "401")
	l.must(t, "admin with ADMIN_PASSWORD", curl+"-o /dev/null -w '%{http_code}' -u admin:pad-admin http://127.0.0.1:9001/admin/", "200")
	l.must(t, "create a pad", "docker exec "+l.name("etherpad")+
		" sh -c 'curl -sS \"http://127.0.0.1:9001/api/1/createPad?apikey=$(cat APIKEY.txt)&padID=standin&text=hello\"'", `"code":0`)
	l.must(t, "pad in postgres", "docker exec -e PGPASSWORD=pad-db-pw "+l.name("etherpad-db")+" psql -h 127.0.0.1 -U etherpad -d etherpad -tAc \"SELECT count(*) > 0 FROM store WHERE key = 'pad:standin'\"", "t")
	l.must(t, "server user", "docker exec "+l.name("etherpad")+" id -un", "etherpad")
}

// ethercalc: Redis from the old link variables (the redis stand-in); a
// sheet written over the REST API is read back and lands in Redis. Then
// as the stack runs it: a Redis password and database index.
func testEtherCalc(t *testing.T, l *appLab) {
	l.run(t, "ethercalc-redis", "redis:7-alpine")
	l.run(t, "ethercalc", "-e REDIS_PORT_6379_TCP_ADDR="+l.name("ethercalc-redis")+" -e REDIS_PORT_6379_TCP_PORT=6379 audreyt/ethercalc")
	curl := "docker exec " + l.name("ethercalc") + " curl -sS "
	if !l.poll(t, "ethercalc", "front page", curl+"http://127.0.0.1:8000/", "<html") {
		return
	}
	l.saysStandIn(t, "ethercalc")
	l.must(t, "Redis in use", "docker logs "+l.name("ethercalc")+" 2>&1", "Connected to Redis Server: "+l.name("ethercalc-redis")+":6379")
	l.must(t, "write a sheet", curl+"-X PUT -H 'Content-Type: text/csv' --data-binary "+host.Quote("a,b\n1,2")+" http://127.0.0.1:8000/_/standin", "OK")
	l.must(t, "read it back", curl+"http://127.0.0.1:8000/standin.csv", "a,b\n1,2")
	l.must(t, "sheet in Redis", "docker exec "+l.name("ethercalc-redis")+" redis-cli KEYS 'snapshot-*'", "snapshot-standin")
	l.must(t, "socket.io", curl+"-o /dev/null -w '%{http_code}' http://127.0.0.1:8000/socket.io/socket.io.js", "200")

	// As the catalog's stack runs it (templates/apps/ethercalc): REDIS_HOST,
	// REDIS_PORT, REDIS_DB and REDIS_PASS, which EtherCalc's db.js reads,
	// and `ethercalc --cors` as the command.
	l.run(t, "ethercalc-redis-pw", "redis:7-alpine redis-server --requirepass calc-pw")
	l.run(t, "ethercalc-pw", "-e REDIS_HOST="+l.name("ethercalc-redis-pw")+" -e REDIS_PORT=6379 -e REDIS_DB=1 -e REDIS_PASS=calc-pw audreyt/ethercalc ethercalc --cors")
	curl = "docker exec " + l.name("ethercalc-pw") + " curl -sS "
	if !l.poll(t, "ethercalc-pw", "front page", curl+"http://127.0.0.1:8000/", "<html") {
		return
	}
	l.must(t, "write a sheet with a Redis password", curl+"-X PUT -H 'Content-Type: text/csv' --data-binary "+host.Quote("c,d\n3,4")+" http://127.0.0.1:8000/_/standinpw", "OK")
	l.must(t, "sheet in Redis database 1", "docker exec -e REDISCLI_AUTH=calc-pw "+l.name("ethercalc-redis-pw")+" redis-cli -n 1 KEYS 'snapshot-*'", "snapshot-standinpw")
}
