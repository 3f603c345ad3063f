// Package e2e runs collabstack end to end on a lab of real hosts:
// containers with systemd, sshd and dockerd, reached over SSH.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/ssh"
)

// gitRepo makes a local git repository with files, as the upstream
// kp-server and kp-client stand in for (no network here).
func gitRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		mode := os.FileMode(0o644)
		if strings.Contains(name, "/bin/") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "master"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "fake"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	return dir
}

func needDocker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := host.NewLocal("local").Run(ctx, "docker info --format ok", host.RunOpts{}); err != nil {
		t.Skipf("no dockerd answers here (%v): start one (`dockerd &`); CI does", err)
	}
}

// TestKopnikOnTwoLabHosts: a fresh apply of the fixtures shaped like
// kp-server and kp-client (kopnik_fixtures_test.go) converges: nginx serves
// the client built for the site's own domain, the websocket, uploads and
// downloads; the server logged in to Crossbar with the ticket of its
// generated config (the authenticator read it by NODE_ENV at
// ../../kp-sequelizejs/cfg and imported psycopg2cffi), found its schema
// initialised and the relay accepting its sender; Postgres has the seed's
// settings; a second apply changes nothing.
func TestKopnikOnTwoLabHosts(t *testing.T) {
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	server := gitRepo(t, fakeServerFiles)
	client := gitRepo(t, fakeClientFiles)
	dir := t.TempDir()
	network := fmt.Sprintf("cs-e2e-%d", os.Getpid()%100000)
	sitePath := filepath.Join(dir, "site.yaml")
	siteYAML := fmt.Sprintf(`version: 1
topology: lab
domain: kopnik.test
admin_email: admin@kopnik.test
lab: {nodes: 2, network: %s, image: docker}
prepare: {node: distro}
components:
  kopnik:
    options: {server_repo: %s, server_ref: master, client_repo: %s, client_ref: master}
`, network, server, client)
	sess := openLabSite(t, sitePath, siteYAML)
	// The first apply is killed with -9 twice on its way: once its journal
	// shows it began an apt install, then a swarm join (kill_test.go). The
	// apply after them converges from where they left the lab.
	killApplyAt(t, sitePath, "prepare/packages/")
	killApplyAt(t, sitePath, "swarm/join/")
	sess = reopen(t, sitePath)
	sum := freshApply(t, ctx, sess)
	if nodes, err := sess.Hosts.Get(ctx, "lab-1"); err == nil {
		if out, err := nodes.Run(ctx, "docker node ls --format '{{.Hostname}}' | sort | tr '\\n' ' '", host.RunOpts{}); err != nil || strings.TrimSpace(out) != "lab-1 lab-2" {
			t.Errorf("swarm nodes after the killed joins: %q %v, want lab-1 and lab-2 once each", out, err)
		}
	}

	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) (string, error) { return mgr.Run(ctx, cmd, host.RunOpts{}) }
	// The node trusts this machine's extra CAs (a TLS-inspecting proxy's),
	// as npm, apt and pulls inside it need.
	cas, _ := filepath.Glob(lab.ExtraCADir + "/*.crt")
	for _, ca := range cas {
		pem, _ := os.ReadFile(ca)
		body := strings.Fields(strings.TrimSpace(string(pem)))
		if len(body) < 3 {
			continue
		}
		if _, err := run("grep -qF " + host.Quote(body[len(body)-3]) + " /etc/ssl/certs/ca-certificates.crt"); err != nil {
			t.Errorf("lab-1 does not trust %s: its system bundle lacks it", ca)
		}
	}
	// Wait for the services to answer through nginx.
	curl := func(args string) string {
		var out string
		var err error
		for i := 0; i < 90; i++ {
			out, err = run("curl -sk --max-time 5 " + args)
			if err == nil && out != "" && !strings.Contains(out, "502 Bad Gateway") {
				return out
			}
			time.Sleep(2 * time.Second)
		}
		ps, _ := run("docker stack ps kopnik --no-trunc")
		t.Fatalf("curl %s: %q %v\n%s", args, out, err, ps)
		return ""
	}
	if out := curl("https://127.0.0.1/"); !strings.Contains(out, "kopnik client built") || !strings.Contains(out, "wss://kopnik.test:443/ws") {
		t.Errorf("/ does not serve the client built for the site's domain: %q", out)
	}
	if out := curl("-o /dev/null -w '%{http_code}' https://127.0.0.1/api/hello"); out != "404" {
		t.Errorf("/api answers %q; this kp-server version has no HTTP API, so 404", out)
	}
	up := curl("--data-binary 'hello kopnik' 'https://127.0.0.1/upload?name=hello.txt'")
	if !strings.Contains(up, `"path":"upload/`) {
		t.Errorf("upload through nginx: %q", up)
	} else if path := up[strings.Index(up, "upload/"):strings.LastIndex(up, `"`)]; curl("'https://127.0.0.1/download?path="+path+"'") != "hello kopnik" {
		t.Errorf("download of %s through nginx does not give the uploaded file", path)
	}
	// The server's WAMP procedure, called as a browser would (anonymous):
	// it registered as role server, sees its tables and the relay.
	call := `
from autobahn.twisted.wamp import ApplicationSession, ApplicationRunner
from twisted.internet.defer import inlineCallbacks
class S(ApplicationSession):
    @inlineCallbacks
    def onJoin(self, details):
        r = yield self.call("ru.kopa.fixture.ping")
        print("RESULT", r, flush=True)
        self.leave()
    def onDisconnect(self):
        from twisted.internet import reactor
        reactor.stop()
ApplicationRunner("ws://127.0.0.1:8080/ws", "kopa").run(S)
`
	var ping string
	for i := 0; i < 60 && !strings.Contains(ping, "RESULT"); i++ {
		ping, _ = run("docker exec $(docker ps -q -f name=kopnik_crossbar | head -n1) timeout 20 python3 -c " + host.Quote(call) + " 2>&1 || true")
		if !strings.Contains(ping, "RESULT") {
			time.Sleep(3 * time.Second)
		}
	}
	for _, want := range []string{"Kopnik", "Zemla", "'mail': '250", "noreply@kopnik.test"} {
		if !strings.Contains(ping, want) {
			logs, _ := run("docker service logs --tail 30 kopnik_node 2>&1; docker service logs --tail 30 kopnik_crossbar 2>&1")
			t.Errorf("the server's WAMP procedure answers without %q: %q\n%s", want, ping, logs)
			break
		}
	}
	ws := curl(`--http1.1 -i -o - --max-time 3 -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: wamp.2.json' https://127.0.0.1/ws || true`) // an open websocket ends by the time limit
	if !strings.Contains(ws, "101 Switching Protocols") {
		t.Errorf("/ws did not upgrade to a websocket: %q", ws)
	}
	// A user's ticket login: the Python 2 authenticator checks the bcrypt
	// hash in "Kopnik" through psycopg2cffi on the image's Python 3.
	hash, err := run("docker exec $(docker ps -q -f name=kopnik_crossbar | head -n1) python3 -c " + host.Quote("import bcrypt; print(bcrypt.hashpw(b'secret', bcrypt.gensalt()).decode())"))
	if err != nil {
		t.Errorf("bcrypt in the crossbar image: %v", err)
	}
	insert := fmt.Sprintf(`INSERT INTO "Kopnik" (email, password, rolee) VALUES ('u@kopnik.test', '%s', 'kopnik')`, strings.TrimSpace(hash))
	if _, err := run("docker exec $(docker ps -q -f name=kopnik_db | head -n1) psql -U kopnik -d kopnik -c " + host.Quote(insert)); err != nil {
		t.Errorf("add a user: %v", err)
	}
	login := `
from autobahn.twisted.wamp import ApplicationSession, ApplicationRunner
class S(ApplicationSession):
    def onConnect(self):
        self.join("kopa", ["ticket"], "u@kopnik.test")
    def onChallenge(self, challenge):
        return "secret"
    def onJoin(self, details):
        print("ROLE", details.authrole, flush=True)
        self.leave()
    def onDisconnect(self):
        from twisted.internet import reactor
        reactor.stop()
ApplicationRunner("ws://127.0.0.1:8080/ws", "kopa").run(S)
`
	if out, _ := run("docker exec $(docker ps -q -f name=kopnik_crossbar | head -n1) timeout 20 python3 -c " + host.Quote(login) + " 2>&1 || true"); !strings.Contains(out, "ROLE kopnik") {
		logs, _ := run("docker service logs --tail 30 kopnik_crossbar 2>&1")
		t.Errorf("a user's ticket login: %q\n%s", out, logs)
	}
	if out := curl("-o /dev/null -w '%{http_code}' http://127.0.0.1/"); !strings.Contains(out, "301") {
		t.Errorf("http is not redirected to https: %q", out)
	}
	maxConn, err := run("docker exec $(docker ps -q -f name=kopnik_db | head -n1) psql -U kopnik -d kopnik -tAc 'SHOW max_connections'")
	if err != nil || strings.TrimSpace(maxConn) != "1000" {
		t.Errorf("max_connections: %q %v", maxConn, err)
	}
	for svc, node := range map[string]string{"db": "lab-1", "nginx": "lab-1", "smtp": "lab-1", "files": "lab-1"} {
		out, err := run("docker service ps kopnik_" + svc + " --filter desired-state=running --format '{{.Node}}'")
		if err != nil || strings.TrimSpace(out) != node {
			ps, _ := run("docker service ps --no-trunc kopnik_" + svc + " 2>&1; docker service logs --tail 30 kopnik_" + svc + " 2>&1")
			t.Errorf("kopnik_%s runs on %q, want %s (%v)\n%s", svc, out, node, err, ps)
		}
	}

	// The shared services: an image built here goes through `collabstack
	// images push` into the registry (HTTPS from the site's CA, a
	// password) and a service on the worker runs it; Portainer runs on
	// the manager with its agent on every node.
	bin := collabstackBinary(t)
	ref := sleeperImage(t, dir)
	out, err := exec.Command(bin, "images", "push", "--config", sitePath, ref).CombinedOutput()
	if err != nil {
		t.Fatalf("images push: %v\n%s", err, out)
	}
	pushed := strings.TrimSpace(string(out)[strings.LastIndex(string(out), "\n  ")+1:])
	if out, err := run("curl -s -o /dev/null -w '%{http_code}' --cacert /etc/docker/certs.d/$(ls /etc/docker/certs.d)/ca.crt https://$(ls /etc/docker/certs.d)/v2/"); err != nil || out != "401" {
		t.Errorf("the registry answers %q to a request without its password, want 401 (%v)", out, err)
	}
	if _, err := run("docker service create --detach --with-registry-auth --name e2e-pushed --constraint node.hostname==lab-2 " + host.Quote(pushed)); err != nil {
		t.Fatalf("run the pushed image on the worker: %v", err)
	}
	state := ""
	for i := 0; i < 60 && state != "Running"; i++ {
		state, _ = run("docker service ps e2e-pushed --format '{{.CurrentState}}' | head -n1 | cut -d' ' -f1")
		state = strings.TrimSpace(state)
		time.Sleep(time.Second)
	}
	if state != "Running" {
		ps, _ := run("docker service ps e2e-pushed --no-trunc")
		t.Errorf("the pushed image does not run on the worker:\n%s", ps)
	}
	run("docker service rm e2e-pushed")
	if out, err := run("docker service ps shared_agent --filter desired-state=running --format '{{.Node}}' | sort | tr '\\n' ' '"); err != nil || strings.TrimSpace(out) != "lab-1 lab-2" {
		t.Errorf("portainer agents run on %q (%v), want lab-1 and lab-2", out, err)
	}
	if out, err := run("docker service ps shared_portainer --filter desired-state=running --format '{{.Node}}'"); err != nil || strings.TrimSpace(out) != "lab-1" {
		t.Errorf("portainer runs on %q (%v), want lab-1", out, err)
	}

	// Nothing changed: nothing to do.
	noopApply(t, ctx, sess, "second apply")

	// A row written now survives a kill -9 of collabstack in the middle of
	// an apply that changes the stack, and the re-run after it.
	psql := "docker exec $(docker ps -q -f name=kopnik_db | head -n1) psql -U kopnik -d kopnik -tAc "
	if _, err := run(psql + host.Quote("CREATE TABLE IF NOT EXISTS keep (v text); INSERT INTO keep VALUES ('before the kill')")); err != nil {
		t.Fatalf("write a row: %v", err)
	}
	changed := strings.Replace(siteYAML, "options: {", "options: {visualizer: true, visualizer_port: 8091, ", 1)
	os.WriteFile(sitePath, []byte(changed), 0o600)
	// Killed once its journal shows the stack's redeploy began.
	killApplyAt(t, sitePath, kopnikDeploy)

	sess2, err := install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	defer sess2.Close()
	if _, err := sess2.Run(ctx, install.RunOptions{Command: "apply"}); err != nil {
		t.Fatalf("re-run after kill -9: %v", err)
	}
	sum, err = sess2.Run(ctx, install.RunOptions{Command: "apply"})
	if err != nil || sum.Changed != 0 {
		t.Errorf("apply after the re-run: %+v %v", sum, err)
	}
	mgr2, _ := sess2.Hosts.Get(ctx, "lab-1")
	services, _ := mgr2.Run(ctx, "docker service ls --format '{{.Name}}' | grep ^kopnik_", host.RunOpts{})
	if n := len(strings.Fields(services)); n != 8 {
		t.Errorf("want the 8 kopnik services (the visualizer and its socket proxy turned on) once each, got %d: %s", n, services)
	}
	var row string
	for i := 0; i < 60; i++ {
		row, err = mgr2.Run(ctx, psql+host.Quote("SELECT v FROM keep"), host.RunOpts{})
		if err == nil {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if strings.TrimSpace(row) != "before the kill" {
		t.Errorf("the row written before the kill: %q %v", row, err)
	}
	// Adding a component and re-running deploys only that component (and,
	// in the lab, loads its image).
	withRedis := strings.Replace(changed, "components:\n", "components:\n  redis: {}\n", 1)
	os.WriteFile(sitePath, []byte(withRedis), 0o600)
	sess3, err := install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	defer sess3.Close()
	var changedSteps []string
	sum, err = sess3.Run(ctx, install.RunOptions{Command: "apply", Emit: func(e engine.Event) {
		if e.Kind == engine.StepDone && e.Changed {
			changedSteps = append(changedSteps, e.Step)
		}
		if e.Kind == engine.StepFailed {
			t.Logf("FAILED %s: %v (%s)", e.Step, e.Err, e.Hint)
		}
	}})
	if err != nil {
		t.Fatalf("apply with redis added: %v", err)
	}
	for _, id := range changedSteps {
		if !strings.HasPrefix(id, "apps/redis/") && id != "lab/images" {
			t.Errorf("adding redis changed %s", id)
		}
	}
	if len(changedSteps) == 0 {
		t.Error("adding redis changed nothing")
	}
	t.Logf("adding redis changed: %v", changedSteps)
	mgr3, _ := sess3.Hosts.Get(ctx, "lab-1")
	var pong string
	for i := 0; i < 60 && !strings.Contains(pong, "PONG"); i++ {
		pong, _ = mgr3.Run(ctx, "docker exec $(docker ps -q -f name=redis_redis | head -n1) sh -c 'REDISCLI_AUTH=\"$(sed -n \"s/^requirepass //p\" /run/secrets/redis_conf)\" redis-cli ping' 2>&1 || true", host.RunOpts{})
		time.Sleep(2 * time.Second)
	}
	if !strings.Contains(pong, "PONG") {
		t.Errorf("the added redis does not answer: %q", pong)
	}

	// The visualizer, turned on, is behind nginx with a password.
	var code string
	for i := 0; i < 60 && code != "401"; i++ {
		code, _ = mgr2.Run(ctx, "curl -sk -o /dev/null -w '%{http_code}' https://127.0.0.1:8091/ || true", host.RunOpts{})
		time.Sleep(2 * time.Second)
	}
	if code != "401" {
		t.Errorf("the changed option did not reach the stack: the visualizer on 8091 answers %q, want 401 without its password", code)
	}
}

// sleeperImage builds a tiny image here: one static Go program that
// sleeps, imported into the local dockerd, as a user's own image would be.
func sleeperImage(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "sleeper")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nimport \"time\"\n\nfunc main() { time.Sleep(1000 * time.Hour) }\n"), 0o644)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module sleeper\n\ngo 1.21\n"), 0o644)
	build := exec.Command("go", "build", "-o", "rootfs/sleeper", ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the sleeper: %v %s", err, out)
	}
	const ref = "collabstack-e2e/sleeper:1"
	cmd := exec.Command("sh", "-c", "tar -C rootfs -c . | docker import --change 'ENTRYPOINT [\"/sleeper\"]' - "+ref)
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import the sleeper image: %v %s", err, out)
	}
	return ref
}
