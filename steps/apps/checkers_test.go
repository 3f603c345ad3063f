package apps

import (
	"github.com/collabstack/collabstack/steps/pki"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

const nginxBin = "/usr/sbin/nginx"

// writeStack writes a rendered stack's files into a new directory.
func writeStack(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestDockerStackConfigAcceptsEveryStack runs docker 28's own parser and
// validator over every rendered stack.
func TestDockerStackConfigAcceptsEveryStack(t *testing.T) {
	docker := testtools.StackConfigDocker(t)
	c := loadCatalog(t)
	for name, st := range renderAll(t, c) {
		dir := writeStack(t, st.Files)
		cmd := exec.Command(docker, "stack", "config", "-c", "stack.yaml")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: docker stack config: %v\n%s", name, err, out)
		}
	}
}

// TestNginxAcceptsTheEdgeWithEveryVhost puts the edge's files where its
// stack mounts them, under an nginx.conf like the image's, and runs a real
// nginx -t as a user without root's rights over the system.
func TestNginxAcceptsTheEdgeWithEveryVhost(t *testing.T) {
	if _, err := os.Stat(nginxBin); err != nil {
		t.Skipf("no nginx at %s (scripts/test installs nginx-light)", nginxBin)
	}
	c := loadCatalog(t)
	in := everything(t, c)
	st, err := c.Render(EdgeName, in)
	if err != nil {
		t.Fatal(err)
	}
	prefix := t.TempDir()
	conf := filepath.Join(prefix, "conf")
	// Where the stack mounts each config.
	var doc struct {
		Services map[string]struct {
			Configs []struct {
				Source string `yaml:"source"`
				Target string `yaml:"target"`
			} `yaml:"configs"`
		} `yaml:"services"`
		Configs map[string]struct {
			File string `yaml:"file"`
		} `yaml:"configs"`
	}
	if err := yaml.Unmarshal(st.Files["stack.yaml"], &doc); err != nil {
		t.Fatal(err)
	}
	mounted := 0
	for _, cf := range doc.Services["nginx"].Configs {
		file := strings.TrimPrefix(doc.Configs[cf.Source].File, "./")
		data, ok := st.Files[file]
		if !ok {
			t.Fatalf("config %s refers to %q, which was not rendered", cf.Source, file)
		}
		rel, ok := strings.CutPrefix(cf.Target, "/etc/nginx/")
		if !ok {
			t.Fatalf("config %s is mounted outside /etc/nginx: %s", cf.Source, cf.Target)
		}
		p := filepath.Join(conf, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		mounted++
	}
	vhosts, err := c.Vhosts(in)
	if err != nil {
		t.Fatal(err)
	}
	if mounted != len(vhosts)+2 {
		t.Errorf("%d configs mounted for %d vhosts", mounted, len(vhosts))
	}
	cert, key, err := pki.SelfSigned(sampleDomain, "*."+sampleDomain)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(conf, "tls"), 0o755)
	os.WriteFile(filepath.Join(conf, "tls", "fullchain.pem"), cert, 0o644)
	os.WriteFile(filepath.Join(conf, "tls", "privkey.pem"), key, 0o644)
	for _, d := range []string{"logs", "tmp"} {
		os.MkdirAll(filepath.Join(prefix, d), 0o777)
	}
	// The http block of the nginx image's nginx.conf, with paths in the
	// prefix, plus what Debian's nginx.conf sets at http level (the
	// stand-in's): the edge's files must not set any of it again.
	main := `worker_processes 1;
pid ` + prefix + `/nginx.pid;
events { worker_connections 64; }
http {
    include ` + nginxMimeTypes() + `;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path ` + prefix + `/tmp/body;
    proxy_temp_path ` + prefix + `/tmp/proxy;
    fastcgi_temp_path ` + prefix + `/tmp/fastcgi;
    uwsgi_temp_path ` + prefix + `/tmp/uwsgi;
    scgi_temp_path ` + prefix + `/tmp/scgi;
    sendfile on;
    keepalive_timeout 65;
    tcp_nopush on;
    types_hash_max_size 2048;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    gzip on;
    include conf.d/*.conf;
}
`
	if err := os.WriteFile(filepath.Join(conf, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	// nginx -t binds the listening sockets: it runs in a network namespace
	// of its own, where 80 and 443 are free and open to an unprivileged user.
	args := []string{nginxBin, "-t", "-e", "stderr", "-p", prefix + "/", "-c", "conf/nginx.conf"}
	cmd := exec.Command("unshare", append([]string{"--user", "--map-root-user", "--net", "--"}, args...)...)
	if os.Geteuid() == 0 {
		// As nobody, the way a developer without root runs it.
		os.Chmod(filepath.Dir(prefix), 0o755)
		os.Chmod(prefix, 0o755)
		filepath.Walk(prefix, func(p string, info os.FileInfo, err error) error {
			if err == nil {
				os.Chown(p, 65534, 65534)
			}
			return nil
		})
		script := `echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start && exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"`
		cmd = exec.Command("unshare", append([]string{"--net", "--", "sh", "-c", script, "sh"}, args...)...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "conflicting server name") {
		t.Errorf("two vhosts claim one name:\n%s", out)
	}
	if !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t said:\n%s", out)
	}
	for _, v := range vhosts {
		if !strings.Contains(string(st.Files["vhost-"+v.App+".conf"]), "server_name "+v.Host+";") {
			t.Errorf("%s: vhost does not serve %s", v.App, v.Host)
		}
	}
}

func nginxMimeTypes() string {
	for _, p := range []string{"/etc/nginx/mime.types"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "/dev/null"
}

// TestOptionVariantsPassDockerStackConfig renders apps with their options
// away from the defaults (and placements moved) and checks them again.
func TestOptionVariantsPassDockerStackConfig(t *testing.T) {
	docker := testtools.StackConfigDocker(t)
	c := loadCatalog(t)
	in := everything(t, c)
	in.Components = map[string]site.Component{
		"etherpad":   {Options: map[string]any{"plugins": []any{"ep_headings2", "ep_align"}}, Placement: site.LabelInfra},
		"freeradius": {Options: map[string]any{"ldap": false, "clients": []any{"10.1.0.0/16"}}},
		"smtp":       {Options: map[string]any{"relayhost": "[smtp.example.org]:587"}},
		"synapse":    {Options: map[string]any{"registration": true}},
		"hedgedoc":   {Options: map[string]any{"allow_anonymous": true}},
		"penpot":     {Options: map[string]any{"registration": false}},
		"coturn":     {Options: map[string]any{"external_ip": "203.0.113.7"}},
		"kurento":    {Options: map[string]any{"external_ip": "203.0.113.7"}},
		"edumeet":    {Options: map[string]any{"external_ip": "203.0.113.7"}},
		EdgeName:     {Options: map[string]any{"http_port": 8080, "https_port": 8443}},
	}
	for name := range in.Components {
		st, err := c.Render(name, in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		dir := writeStack(t, st.Files)
		cmd := exec.Command(docker, "stack", "config", "-c", "stack.yaml")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: docker stack config: %v\n%s", name, err, out)
		}
	}
	pad, _ := c.Render("etherpad", in)
	// Etherpad keeps data in a volume: its stack follows its pin, which
	// the deploy puts on a node of its placement.
	if s := string(pad.Files["stack.yaml"]); !strings.Contains(s, `"ep_align"`) || !strings.Contains(s, swarm.PinConstraint("etherpad")) || pad.Pin == nil || pad.Pin.LabelValue != site.LabelInfra {
		t.Errorf("etherpad's plugins or placement are not in its stack (pin %+v):\n%s", pad.Pin, s)
	}
	radius, _ := c.Render("freeradius", in)
	if _, ok := radius.Files["ldap.secret"]; ok && strings.Contains(string(radius.Files["stack.yaml"]), "mods-enabled/ldap") {
		t.Error("ldap: false still mounts the LDAP module")
	}
}

// TestHookScriptsPassShellcheck renders every hook's script and check for
// a site with every app and runs shellcheck on them as POSIX sh (they run
// under sh -s in the app's container).
func TestHookScriptsPassShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("no shellcheck (scripts/test installs it)")
	}
	c := loadCatalog(t)
	in := everything(t, c)
	dir := t.TempDir()
	n := 0
	for _, a := range c.Apps() {
		for _, h := range a.Hooks {
			d, err := c.data(a.Name, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{h.Script, h.Check} {
				tm, err := c.parse(a.Name, f, c.funcs(a.Name, in))
				if err != nil {
					t.Fatal(err)
				}
				out, err := execute(tm, f, d)
				if err != nil {
					t.Fatalf("%s: %v", a.Name, err)
				}
				p := filepath.Join(dir, a.Name+"-"+strings.ReplaceAll(filepath.Base(f), ".tmpl", ""))
				if err := os.WriteFile(p, out, 0o600); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(sc, "-s", "sh", "-S", "warning", p)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("%s/%s: shellcheck:\n%s", a.Name, f, out)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no hook scripts")
	}
}
