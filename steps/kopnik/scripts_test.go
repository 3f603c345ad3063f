package kopnik

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/script"
)

func scriptData() map[string]map[string]any {
	return map[string]map[string]any{
		"kopnik/npm.sh": {"Dir": "/home/ubuntu/sftp/kp-client", "Image": "node:7.7.2", "NPMVersion": "6.14.18", "Command": "npm install --production=false && npm run build",
			"UID": "1000", "What": "kp-client", "PrivateFile": "cfg/private.js", "BundleCheck": "yes", "Marker": "/home/ubuntu/sftp/kp-client/dist/.collabstack-built"},
		"kopnik/crossbar-image.sh": {"Base": Images["crossbar"], "Tag": "collabstack/kopnik-crossbar:abc", "CrossbarDir": "/home/ubuntu/sftp/kp-client/.crossbar"},
		"kopnik/schema.sh":         {"Dir": "/home/ubuntu/sftp/kp-server", "Init": initCommand(defaults), "UID": "1000"},
	}
}

func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is not installed (apt-get install shellcheck; scripts/test does)")
	}
	for path, data := range scriptData() {
		text, err := script.Render(path, data)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "s.sh")
		os.WriteFile(f, []byte(text), 0o600)
		if out, err := exec.Command("shellcheck", "-s", "sh", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s:\n%s", path, out)
		}
	}
}

// TestNpmScriptRefusesABundleWithUnresolvedModules runs npm.sh for real
// with a stand-in docker on PATH (it runs the build command here): a
// webpack bundle that throws "Cannot find module" fails the step, a good
// one passes and a second check finds it done.
func TestNpmScriptRefusesABundleWithUnresolvedModules(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	src := filepath.Join(dir, "kp-client")
	os.MkdirAll(bin, 0o755)
	os.MkdirAll(filepath.Join(src, "cfg"), 0o755)
	// docker run ... IMAGE sh -c CMD: run CMD in the mounted source.
	os.WriteFile(filepath.Join(bin, "docker"), []byte("#!/bin/sh\ncase \"$1\" in image|pull) exit 0;; esac\nfor a; do last=$a; done\ncd \"$SRC\" && sh -c \"$last\"\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "chown"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	for _, args := range [][]string{{"init", "-q"}, {"-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"}} {
		if out, err := exec.Command("git", append([]string{"-C", src}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git: %v %s", err, out)
		}
	}
	run := func(mode, build string) (string, error) {
		d := scriptData()["kopnik/npm.sh"]
		d["Dir"], d["Marker"] = src, src+"/dist/.collabstack-built"
		d["Command"] = build
		text, err := script.Render("kopnik/npm.sh", d)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", text)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "SRC="+src, "MODE="+mode)
		cmd.Stdin = strings.NewReader("module.exports = {production: {}}")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	bad := `mkdir -p dist && echo '<html>' > dist/index.html && echo '!(function webpackMissingModule() { var e = new Error("Cannot find module \"./private\""); throw e; }())' > dist/app.js`
	if out, err := run("apply", bad); err == nil || !strings.Contains(out, "unresolved modules") {
		t.Errorf("a bundle with an unresolved module passed: %v\n%s", err, out)
	}
	if out, err := run("check", bad); err == nil {
		t.Errorf("after a failed build the check says done:\n%s", out)
	}
	good := `mkdir -p dist && echo '<html>' > dist/index.html && echo 'console.log(1)' > dist/app.js`
	if out, err := run("apply", good); err != nil {
		t.Errorf("a good bundle failed: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(src, "cfg/private.js")); !strings.Contains(string(got), "production") {
		t.Errorf("cfg/private.js not written: %q", got)
	}
	if out, err := run("check", good); err != nil {
		t.Errorf("check after the build: %v\n%s", err, out)
	}
}

// TestNginxAcceptsTheConf runs Debian's nginx -t on the rendered
// configuration, with and without the visualizer.
func TestNginxAcceptsTheConf(t *testing.T) {
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatal("nginx is not installed (apt-get install nginx-light; scripts/test does)")
	}
	cert, key, err := pki.SelfSigned("kopnik.example.org")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []map[string]any{nil, {"visualizer": true, "api_port": 8080}} {
		o, _ := ParseOptions(raw)
		st, _ := renderDefault(t, o)
		dir := t.TempDir()
		conf := strings.NewReplacer("/etc/nginx/tls/", dir+"/", "/run/secrets/", dir+"/", "/var/www/acme", dir, "/usr/share/nginx/html", dir).Replace(string(st.Files["nginx.conf"]))
		os.WriteFile(filepath.Join(dir, "fullchain.pem"), cert, 0o600)
		os.WriteFile(filepath.Join(dir, "privkey.pem"), key, 0o600)
		os.WriteFile(filepath.Join(dir, "visualizer.htpasswd"), []byte("admin:x\n"), 0o600)
		os.WriteFile(filepath.Join(dir, "site.conf"), []byte(conf), 0o600)
		main := "pid " + dir + "/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\naccess_log off;\nclient_body_temp_path " + dir + ";\nproxy_temp_path " + dir + ";\nfastcgi_temp_path " + dir + ";\nuwsgi_temp_path " + dir + ";\nscgi_temp_path " + dir + ";\ninclude " + dir + "/site.conf;\n}\n"
		os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600)
		if out, err := exec.Command("nginx", "-t", "-q", "-p", dir, "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
			t.Errorf("nginx -t %v: %v\n%s", raw, err, out)
		}
	}
}

// TestSitecustomizeRunsThePython2Authenticator: the Crossbar image's
// sitecustomize.py makes a module `authenticator` written for Python 2
// (unicode, bytes(text), bcrypt.hashpw compared with a text hash) run on
// this machine's Python 3; bcrypt here is a fake that insists on bytes.
func TestSitecustomizeRunsThePython2Authenticator(t *testing.T) {
	dir := t.TempDir()
	files, err := crossbarContext()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "sitecustomize.py"), files["sitecustomize.py"], 0o644)
	os.WriteFile(filepath.Join(dir, "bcrypt.py"), []byte("def hashpw(pw, salt):\n    assert isinstance(pw, bytes) and isinstance(salt, bytes), (pw, salt)\n    return salt if pw == b'pw' else b'nope'\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "authenticator.py"), []byte("import bcrypt\n\ndef check(ticket, stored, role):\n    if bcrypt.hashpw(bytes(ticket), stored) == stored:\n        return unicode(role)\n    return None\n"), 0o644)
	cmd := exec.Command("python3", "-c", "import authenticator, bcrypt; print(authenticator.check('pw', '$2b$h', 'kopnik'), authenticator.check('x', '$2b$h', 'kopnik'), bytes(3) == b'\\x00\\x00\\x00', hasattr(bcrypt, 'x') is False)")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "kopnik None True True" {
		t.Errorf("the Python 2 authenticator under sitecustomize: %v %s", err, out)
	}
}
