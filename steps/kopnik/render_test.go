package kopnik

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

func testSite() *site.Site {
	s := &site.Site{Domain: "kopnik.example.org", Prepare: site.Prepare{SFTPRoot: "/home/ubuntu/sftp"}}
	return s
}

func testStore(t *testing.T) *secrets.Store {
	t.Helper()
	st, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func renderDefault(t *testing.T, o Options) (swarm.Stack, Config) {
	t.Helper()
	cfg, err := ServerConfig(testSite(), o, testStore(t))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Render(testSite(), o, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st, cfg
}

type stackDoc struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Ports   []any    `yaml:"ports"`
		Command []string `yaml:"command"`
		User    string   `yaml:"user"`
		Env     map[string]string
		Secrets []any `yaml:"secrets"`
		Volumes []struct {
			Source   string `yaml:"source"`
			Target   string `yaml:"target"`
			ReadOnly bool   `yaml:"read_only"`
		} `yaml:"volumes"`
		Environment map[string]string `yaml:"environment"`
		Deploy      struct {
			Placement struct {
				Constraints []string `yaml:"constraints"`
			} `yaml:"placement"`
			Resources struct {
				Limits struct {
					Memory string `yaml:"memory"`
				} `yaml:"limits"`
			} `yaml:"resources"`
		} `yaml:"deploy"`
	} `yaml:"services"`
}

func TestStackHasTheSeedsSettingsPinnedImagesPlacementAndLimits(t *testing.T) {
	o, err := ParseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	st, cfg := renderDefault(t, o)
	stack := string(st.Files["stack.yaml"])
	for _, want := range []string{"max_connections=1000", "shared_buffers=512MB", "effective_cache_size=1024MB", "work_mem=40MB", "/home/ubuntu/sftp/kp-client/.crossbar", "published: 443", cfg.Secret} {
		if !strings.Contains(stack, want) {
			t.Errorf("the stack lacks %q", want)
		}
	}
	var doc stackDoc
	if err := yaml.Unmarshal(st.Files["stack.yaml"], &doc); err != nil {
		t.Fatal(err)
	}
	if got := swarm.ServiceNames(st.Files["stack.yaml"]); strings.Join(got, ",") != "crossbar,db,files,nginx,node,smtp" {
		t.Errorf("services %v", got)
	}
	for name, svc := range doc.Services {
		if !strings.Contains(svc.Image, ":") || strings.HasSuffix(svc.Image, ":latest") {
			t.Errorf("%s: image %q is not pinned", name, svc.Image)
		}
		if len(svc.Deploy.Placement.Constraints) == 0 || svc.Deploy.Resources.Limits.Memory == "" {
			t.Errorf("%s: no placement constraint or memory limit", name)
		}
		// The kopnik topology has one swarm node, role=infra: no service
		// may wait for a label nobody carries.
		for _, c := range svc.Deploy.Placement.Constraints {
			if strings.Contains(c, "common") {
				t.Errorf("%s is constrained to %q, which no node of the kopnik topology carries", name, c)
			}
		}
		for _, v := range svc.Volumes {
			if v.Source == "/var/run/docker.sock" {
				t.Errorf("%s mounts the Docker socket, but the visualizer is off", name)
			}
		}
		for k, v := range svc.Environment {
			if strings.HasSuffix(k, "_FILE") {
				continue
			}
			if strings.Contains(v, "password") || strings.Contains(strings.ToLower(k), "password") {
				t.Errorf("%s: a password in the environment: %s", name, k)
			}
		}
	}
	if len(doc.Services["smtp"].Ports) != 0 {
		t.Errorf("the mail relay publishes ports: it must be send-only")
	}
	node := doc.Services["node"]
	if node.User != "1000:1000" || node.Environment["NODE_ENV"] != "production" || !strings.Contains(strings.Join(node.Command, " "), "babel-node.js --use-strict ./src/index.js") {
		t.Errorf("node service: user %q env %v command %v", node.User, node.Environment, node.Command)
	}
	if doc.Services["crossbar"].Environment["NODE_ENV"] != "production" {
		t.Error("crossbar's authenticator reads NODE_ENV, which is not set")
	}
	found := false
	for _, v := range doc.Services["crossbar"].Volumes {
		if v.Target == "/kp-sequelizejs/cfg" && v.ReadOnly && v.Source == "/home/ubuntu/sftp/kp-server/cfg" {
			found = true
		}
	}
	if !found {
		t.Error("crossbar does not see kp-server's cfg at ../../kp-sequelizejs/cfg of /node/.crossbar")
	}
	if !strings.Contains(doc.Services["crossbar"].Image, "collabstack/kopnik-crossbar:") {
		t.Errorf("crossbar runs %q, not the image with the authenticator's imports", doc.Services["crossbar"].Image)
	}
	conf := string(st.Files["nginx.conf"])
	for _, want := range []string{"location ~ ^/(upload|download)(/|$)", "http://files:8484", "return 404", "http://crossbar:8080"} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q", want)
		}
	}
	if strings.Contains(conf, "8090") || strings.Contains(stack, "visualizer") {
		t.Error("the visualizer is there though it is off by default")
	}
}

func TestAPIPortAndVisualizerWhenChosen(t *testing.T) {
	o, err := ParseOptions(map[string]any{"api_port": 8080, "visualizer": true, "visualizer_port": 8091})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := renderDefault(t, o)
	conf := string(st.Files["nginx.conf"])
	if !strings.Contains(conf, "http://node:8080") || strings.Contains(conf, "return 404") {
		t.Errorf("/api is not routed to node:8080:\n%s", conf)
	}
	for _, want := range []string{"auth_basic_user_file", "deny all;", "allow 192.168.0.0/16;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("the visualizer's server lacks %q", want)
		}
	}
	var doc stackDoc
	if err := yaml.Unmarshal(st.Files["stack.yaml"], &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Services["visualizer"].Ports) != 0 || len(doc.Services["socket-proxy"].Ports) != 0 {
		t.Error("the visualizer or the socket proxy publishes a port: only nginx may")
	}
	for name, svc := range doc.Services {
		for _, v := range svc.Volumes {
			if v.Source == "/var/run/docker.sock" && (name != "socket-proxy" || !v.ReadOnly) {
				t.Errorf("%s mounts the Docker socket (read-only %v)", name, v.ReadOnly)
			}
		}
	}
	px := doc.Services["socket-proxy"].Environment
	if px["NODES"] != "1" || px["SERVICES"] != "1" || px["TASKS"] != "1" || px["POST"] != "0" {
		t.Errorf("socket proxy allows %v", px)
	}
	if !strings.Contains(string(st.Files["stack.yaml"]), "published: 8091") {
		t.Error("the visualizer's port is not published by nginx")
	}
}

func TestServerConfigIsProductionForTheSite(t *testing.T) {
	o, _ := ParseOptions(nil)
	st := testStore(t)
	cfg, err := ServerConfig(testSite(), o, st)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := json.Unmarshal(cfg.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	prod := doc["production"]
	dbpw, _ := st.Get(DBPasswordSecret)
	ticket, _ := st.Get(ServerPasswordSecret)
	if prod["password"] != dbpw || prod["host"] != "db" || prod["username"] != "kopnik" || prod["dialect"] != "postgres" {
		t.Errorf("database settings: %v", prod)
	}
	if s := prod["server"].(map[string]any); s["username"] != "server" || s["password"] != ticket || len(ticket) < 32 {
		t.Errorf("ticket credentials: %v", s)
	}
	if w := prod["WAMP"].(map[string]any); w["host"] != "crossbar" || w["port"] != "8080" || w["path"] != "ws" {
		t.Errorf("WAMP: %v", w)
	}
	if m := prod["SMTP"].(map[string]any); m["host"] != "smtp" || m["from"] != "noreply@kopnik.example.org" {
		t.Errorf("SMTP: %v", m)
	}
	if f := prod["file-server"].(map[string]any); f["port"] != "8484" || f["upload-path"] != "upload" {
		t.Errorf("file server: %v", f)
	}
	v := prod["VAPID"].(map[string]any)
	if len(v["publicKey"].(string)) != 87 || len(v["privateKey"].(string)) != 43 {
		t.Errorf("VAPID keys are not web-push's base64url P-256 keys: %v", v)
	}
	again, _ := ServerConfig(testSite(), o, st)
	if again.Secret != cfg.Secret {
		t.Error("the config changes between renders: every apply would redeploy")
	}
	cl, err := ClientConfig(testSite())
	if err != nil || !strings.Contains(string(cl), `host: "kopnik.example.org"`) || strings.Contains(string(cl), "kopnik.org\"") {
		t.Errorf("client config: %s %v", cl, err)
	}
	if out, err := exec.Command("node", "-e", "const c=require(process.argv[1]); if(c.production.WAMP.host!=='kopnik.example.org') process.exit(1)", writeTemp(t, "private.js", cl)).CombinedOutput(); err != nil {
		t.Errorf("node cannot load the client config: %v %s", err, out)
	}
}

func writeTemp(t *testing.T, name string, data []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDockerStackConfigAcceptsTheStack(t *testing.T) {
	out, err := exec.Command("docker", "stack", "config", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "config") {
		t.Fatalf("this docker client has no `stack config` (docker 28 has; /usr/local/bin/docker): %s", out)
	}
	for _, raw := range []map[string]any{nil, {"visualizer": true, "api_port": 8080}} {
		o, _ := ParseOptions(raw)
		st, _ := renderDefault(t, o)
		dir := t.TempDir()
		for name, data := range st.Files {
			os.WriteFile(filepath.Join(dir, name), data, 0o600)
		}
		cmd := exec.Command("docker", "stack", "config", "-c", "stack.yaml")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker stack config %v: %v\n%s", raw, err, out)
		}
	}
}

func TestOptions(t *testing.T) {
	if _, err := ParseOptions(map[string]any{"server_rep": "x"}); err == nil || !strings.Contains(err.Error(), "server_rep") {
		t.Errorf("unknown option: %v", err)
	}
	o, err := ParseOptions(map[string]any{"start_command": "npm run server:production", "visualizer_port": 8091})
	if err != nil || o.StartCommand != "npm run server:production" || o.VisualizerPort != 8091 || o.Visualizer {
		t.Errorf("%+v %v", o, err)
	}
	d, _ := ParseOptions(nil)
	if d.ServerRef != ServerCommit || d.ClientRef != ClientCommit || d.NodeImage != "node:7.7.2" || d.NPMVersion != "6.14.18" {
		t.Errorf("defaults are not pinned to the sources: %+v", d)
	}
	if o, err := ParseOptions(map[string]any{"npm_version": ""}); err != nil || o.NPMVersion != "" {
		t.Errorf("npm_version empty (the image's npm): %+v %v", o, err)
	}
	if o, err := ParseOptions(map[string]any{"npm_version": nil}); err != nil || o.NPMVersion != "" {
		t.Errorf("npm_version null (the image's npm): %+v %v", o, err)
	}
	for _, bad := range []map[string]any{
		{"start_command": "npm start; rm -rf /"},
		{"start_command": "$(id)"},
		{"node_image": "node 7"},
		{"server_ref": "--upload-pack=x"},
		{"server_ref": "a..b"},
		{"api_port": 8484},
		{"file_server_port": 0},
		{"visualizer": "yes"},
		{"npm_version": "latest"},
		{"npm_version": "6.14.18; id"},
	} {
		if _, err := ParseOptions(bad); err == nil || !strings.Contains(err.Error(), "components.kopnik.options.") {
			t.Errorf("%v: accepted or unnamed: %v", bad, err)
		}
	}
}

func TestPinnedRefsAndGitsOwnMessage(t *testing.T) {
	c := checkout{repo: "/nonexistent", ref: ServerCommit, what: "kp-server"}
	if w, err := c.want(); err != nil || w != ServerCommit {
		t.Errorf("a pinned commit is wanted as is: %q %v", w, err)
	}
	dir := t.TempDir()
	exec.Command("git", "init", "-q", dir).Run()
	c = checkout{repo: dir, ref: "no-such-branch", what: "kp-server"}
	_, err := c.want()
	if err == nil || !strings.Contains(err.Error(), "fatal:") && !strings.Contains(err.Error(), "Needed a single revision") {
		t.Errorf("git's own message is not in the error: %v", err)
	}
}

func TestSelfSignedCertificateCoversTheDomain(t *testing.T) {
	cert, key, err := pki.SelfSigned("kopnik.test")
	if err != nil || len(key) == 0 {
		t.Fatal(err)
	}
	if !pki.Covers(cert, "kopnik.test") || pki.Covers(cert, "other.test") {
		t.Error("certificate coverage is wrong")
	}
}
