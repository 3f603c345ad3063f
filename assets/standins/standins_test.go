package standins

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
)

func TestEveryStandInHasTagsAndRepos(t *testing.T) {
	if len(Names()) < 7 {
		t.Fatalf("stand-ins = %v", Names())
	}
	for _, n := range Names() {
		if len(Tags(n)) == 0 || len(lines(n, "repos")) == 0 {
			t.Errorf("%s: needs tags and repos files", n)
		}
		for _, tag := range Tags(n) {
			if got, ok := ForImage(tag); !ok || got != n {
				t.Errorf("%s: its tag %s maps to %q", n, tag, got)
			}
		}
	}
	// What the kopnik preset needs (seed 002 and the reference notes).
	kopnik := []string{"postgres:16", "docker.io/library/postgres:15", "boky/postfix", "crossbario/crossbar:latest", "node:lts",
		"nginx:1.27-alpine", "dockersamples/visualizer:latest", "registry:2", "portainer/portainer-ce:lts", "portainer/agent:lts"}
	if m := Missing(kopnik); len(m) != 0 {
		t.Errorf("no stand-in for %v", m)
	}
	if m := Missing([]string{"matrixdotorg/synapse:v1.100"}); len(m) != 1 {
		t.Errorf("Missing must report images without a stand-in")
	}
}

func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck)")
	}
	for _, n := range Names() {
		entries, _ := files.ReadDir(n)
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".sh") {
				continue
			}
			data, _ := files.ReadFile(n + "/" + e.Name())
			cmd := exec.Command("shellcheck", "-s", "sh", "-")
			cmd.Stdin = strings.NewReader(string(data))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("shellcheck %s/%s: %v\n%s", n, e.Name(), err, out)
			}
		}
	}
}

func needDocker(t *testing.T) {
	t.Helper()
	testtools.NeedDocker(t)
	testtools.NeedCommand(t, "debootstrap", "apt-get install debootstrap")
}

// TestStandInsWork builds every stand-in and uses each as the stack
// templates would, on this machine's dockerd; then loads one into a lab
// node and runs it there.
func TestStandInsWork(t *testing.T) {
	needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	local := host.NewLocal("local")
	o := Options{Out: func(l string) { t.Log(l) }}
	start := time.Now()
	// GoToSocial is built from source (tens of minutes): its own test,
	// steps/identity's TestOIDCLoginEndToEnd, builds it and runs it for real.
	names := slices.DeleteFunc(Names(), func(n string) bool { return n == "gotosocial" })
	images, err := Build(ctx, o, append(names, "postgres:16.4")...)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	t.Logf("built %d stand-ins in %s", len(images), time.Since(start).Round(time.Second))
	prefix := fmt.Sprintf("cs-standin-test-%d", os.Getpid()%100000)
	sh := func(cmd string) (string, error) {
		out, err := local.Run(ctx, cmd, host.RunOpts{})
		return strings.TrimSpace(out), err
	}
	run := func(name, args string) {
		t.Helper()
		t.Cleanup(func() { local.Run(context.Background(), "docker rm -f -v "+prefix+"-"+name, host.RunOpts{}) })
		if out, err := sh("docker run -d --name " + prefix + "-" + name + " " + args); err != nil {
			t.Fatalf("run %s: %v %s", name, err, out)
		}
	}
	// poll retries cmd until its output holds want.
	poll := func(what, cmd, want string) {
		t.Helper()
		var out string
		var err error
		for i := 0; i < 60; i++ {
			if out, err = sh(cmd); err == nil && strings.Contains(out, want) {
				return
			}
			time.Sleep(time.Second)
		}
		logs, _ := sh("docker logs " + prefix + "-" + what + " 2>&1 | tail -20")
		t.Errorf("%s: %q, %v; want %q\nlogs:\n%s", what, out, err, want, logs)
	}

	pwFile := t.TempDir() + "/pw"
	os.WriteFile(pwFile, []byte("s3cret-pw"), 0o644)
	run("postgres", "-v "+pwFile+":/run/secrets/pg:ro -e POSTGRES_PASSWORD_FILE=/run/secrets/pg -e POSTGRES_USER=kopnik -e POSTGRES_DB=kopa postgres:16 -c max_connections=1000 -c shared_buffers=64MB")
	poll("postgres", "docker exec -e PGPASSWORD=s3cret-pw "+prefix+"-postgres psql -h 127.0.0.1 -U kopnik -d kopa -tAc 'show max_connections'", "1000")
	if out, err := sh("docker exec -e PGPASSWORD=wrong " + prefix + "-postgres psql -h 127.0.0.1 -U kopnik -d kopa -tAc 'select 1' 2>&1"); err == nil {
		t.Errorf("postgres accepted a wrong password: %s", out)
	}

	run("nginx", "nginx:1.27-alpine")
	poll("nginx", "docker exec "+prefix+"-nginx curl -fsS http://127.0.0.1/", "nginx stand-in")

	run("registry", "registry:2")
	poll("registry", "docker exec "+prefix+"-registry curl -fsS http://127.0.0.1:5000/v2/", "{}")

	run("postfix", "-e ALLOWED_SENDER_DOMAINS=kopnik.test boky/postfix:latest")
	poll("postfix", "docker exec "+prefix+"-postfix python3 -c \"import smtplib; s = smtplib.SMTP('127.0.0.1', 587, timeout=5); print(s.ehlo()[0]); s.quit()\"", "250")

	run("visualizer", "dockersamples/visualizer:latest")
	poll("visualizer", "docker exec "+prefix+"-visualizer curl -fsS http://127.0.0.1:8080/", "stand-in")
	run("portainer", "portainer/portainer-ce:lts -H tcp://tasks.agent:9001 --tlsskipverify")
	poll("portainer", "docker exec "+prefix+"-portainer curl -fsS http://127.0.0.1:9000/", "stand-in")

	if out, err := sh("docker run --rm node:lts node -e 'console.log(6*7)'"); err != nil || out != "42" {
		t.Errorf("node: %q, %v", out, err)
	}

	// The crossbar stand-in routes a call and an event: one session
	// registers a procedure, subscribes, calls and publishes to itself.
	run("crossbar", "crossbario/crossbar:latest")
	client := `
from autobahn.twisted.wamp import ApplicationSession, ApplicationRunner
from twisted.internet.defer import inlineCallbacks, Deferred
from autobahn.wamp.types import PublishOptions
class S(ApplicationSession):
    @inlineCallbacks
    def onJoin(self, details):
        yield self.register(lambda a, b: a + b, "ru.kopa.add")
        got = Deferred()
        yield self.subscribe(lambda x: got.callback(x), "ru.kopa.news")
        r = yield self.call("ru.kopa.add", 40, 2)
        self.publish("ru.kopa.news", "hello", options=PublishOptions(exclude_me=False))
        ev = yield got
        print("RESULT", r, ev, flush=True)
        self.leave()
    def onDisconnect(self):
        from twisted.internet import reactor
        reactor.stop()
ApplicationRunner("ws://127.0.0.1:8080/ws", "kopa").run(S)
`
	poll("crossbar", "docker exec "+prefix+"-crossbar timeout 20 python3 -c "+host.Quote(client), "RESULT 42 hello")

	// Into a lab node: save | load, then run there.
	lo := lab.Options{Nodes: 1, Network: prefix + "-lab", Image: lab.ImageDocker, StateDir: t.TempDir(), Out: o.Out}
	t.Cleanup(func() { lab.Down(context.Background(), lo, true) })
	nodes, err := lab.Up(ctx, lo)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	var stub []Image
	for _, img := range images {
		if img.Name == "httpstub" {
			stub = append(stub, img)
		}
	}
	var said bool
	o.Out = func(l string) { said = said || strings.Contains(l, "STAND-INS IN USE"); t.Log(l) }
	if err := Load(ctx, o, []string{nodes[0].Container}, stub); err != nil {
		t.Fatalf("load: %v", err)
	}
	if !said {
		t.Error("Load must say that stand-ins are in use")
	}
	if out, err := sh("docker exec " + nodes[0].Container + " docker image inspect --format ok portainer/agent:lts dockersamples/visualizer:latest"); err != nil || !strings.Contains(out, "ok") {
		t.Errorf("stand-ins not in the node: %q, %v", out, err)
	}
}
