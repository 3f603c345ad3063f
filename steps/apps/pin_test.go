package apps

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// Services that share a local volume must never be split across nodes,
// and no app's data may move to a node added later: every stack with a
// volume is pinned to one node by a label the deploy step sets.
func TestStacksWithDataArePinnedToOneNode(t *testing.T) {
	c := loadCatalog(t)
	stacks := renderAll(t, c)
	for _, name := range sortedKeys(stacks) {
		a, _ := c.Get(name)
		st := stacks[name]
		f := parseCompose(t, name, st.Files["stack.yaml"])
		switch {
		case a.Kind == KindEdge:
			if st.Pin != nil {
				t.Errorf("edge: pinned %+v; it runs on the manager by its own constraint", st.Pin)
			}
			continue
		case len(f.Volumes) > 0 || a.Colocate != "" || a.OnEdgeNode():
			if st.Pin == nil {
				t.Errorf("%s: has volumes %v but no pin", name, sortedKeys(f.Volumes))
				continue
			}
		default:
			if st.Pin != nil {
				t.Errorf("%s: no volume, yet pinned", name)
			}
			for svc, s := range f.Services {
				if got := strings.Join(s.Deploy.Placement.Constraints, ","); got != Constraint(a.Placement) {
					t.Errorf("%s/%s: constraint %q, want the placement's %q", name, svc, got, Constraint(a.Placement))
				}
			}
			continue
		}
		p := st.Pin
		group := name
		if a.Colocate != "" {
			group = a.Colocate
		}
		if p.Group != group || p.LabelKey != site.NodeLabel || p.LabelValue != a.Placement || p.Manager != a.OnEdgeNode() {
			t.Errorf("%s: pin %+v", name, p)
		}
		pinned := 0
		for _, s := range f.Services {
			if s.Deploy.Mode != "global" {
				pinned++
			}
		}
		if p.Services[0] != ServiceName(name, a.Service) || len(p.Services) != pinned {
			t.Errorf("%s: pin services %v, main first, global services left out", name, p.Services)
		}
		for svc, s := range f.Services {
			if s.Deploy.Mode == "global" {
				if len(s.Deploy.Placement.Constraints) != 0 {
					t.Errorf("%s/%s: a global service with constraints %v", name, svc, s.Deploy.Placement.Constraints)
				}
				continue
			}
			if got := strings.Join(s.Deploy.Placement.Constraints, ","); got != swarm.PinConstraint(group) {
				t.Errorf("%s/%s: constraint %q, want %q", name, svc, got, swarm.PinConstraint(group))
			}
		}
	}
	// The apps of the issue: their services sharing a volume follow one label.
	for app, vol := range map[string]string{"nextcloud": "nextcloud_html", "mastodon": "mastodon_system", "pixelfed": "pixelfed_storage", "penpot": "penpot_assets", "openmeetings": "collabstack_omdata", "kurento": "collabstack_omdata"} {
		p := stacks[app].Pin
		if p == nil || strings.Join(p.Volumes, ",") != vol {
			t.Errorf("%s: pin %+v, want volume %s", app, p, vol)
		}
	}
	if stacks["openmeetings"].Pin.Group != "kurento" || !stacks["kurento"].Pin.Manager {
		t.Errorf("OpenMeetings must run on Kurento's node, Kurento on the edge's: %+v %+v", stacks["openmeetings"].Pin, stacks["kurento"].Pin)
	}
}

// The constraint names the pin's label, never a node: the rendered stack
// is the same whichever node the deploy chose, and a changed placement
// changes what the pinned node must carry, not the file.
func TestPinRenderingIsStable(t *testing.T) {
	c := loadCatalog(t)
	in := everything(t, c)
	a, err := c.Render("nextcloud", in)
	if err != nil {
		t.Fatal(err)
	}
	in.Components = map[string]site.Component{"nextcloud": {Placement: site.LabelInfra}}
	b, err := c.Render("nextcloud", in)
	if err != nil {
		t.Fatal(err)
	}
	if string(a.Files["stack.yaml"]) != string(b.Files["stack.yaml"]) {
		t.Error("the stack changes with the placement: a re-deploy would move it")
	}
	if a.Pin.LabelValue != site.LabelCommon || b.Pin.LabelValue != site.LabelInfra {
		t.Errorf("pins %+v %+v", a.Pin, b.Pin)
	}
}

func TestLoadChecksPortsAndColocate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"ports:\n  - {port: 2222, protocol: tcp, use: ssh}\n", "ports[0].via"},
		{"ports:\n  - {port: 2222, protocol: tcp, use: ssh, via: proxy}\n", "ports[0].via"},
		{"ports:\n  - {port: 3478, protocol: udp, use: turn, via: edge}\n", "single TCP ports"},
		{"ports:\n  - {port: 2222, target: 22, protocol: tcp, use: ssh, via: node}\n", "ports[0].target"},
		{"ports:\n  - {port: 2222, protocol: tcp, use: ssh, via: node, service: nope}\n", "ports[0].service"},
	} {
		_, err := Load(appFS(map[string]string{"a": fmt.Sprintf(goodApp, "a", "a") + tc.yaml}))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	notWeb := strings.Replace(fmt.Sprintf(goodApp, "a", "a"), "web: true\nsubdomain: a\n", "web: false\n", 1)
	if _, err := Load(appFS(map[string]string{"a": notWeb + "ports:\n  - {port: 2222, protocol: tcp, use: ssh, via: edge}\n"})); err == nil || !strings.Contains(err.Error(), "only a web app") {
		t.Errorf("a port through the edge of an app without the edge: %v", err)
	}
	_, err := Load(appFS(map[string]string{"a": fmt.Sprintf(goodApp, "a", "a") + "colocate: b\n", "b": fmt.Sprintf(goodApp, "b", "b")}))
	if err == nil || !strings.Contains(err.Error(), "colocate") {
		t.Errorf("colocate outside requires: %v", err)
	}
}

// The edge's stream proxy forwards each chosen app's TCP port to its
// service on the overlay, and a real nginx accepts its nginx.conf.
func TestEdgeStreamProxy(t *testing.T) {
	c := loadCatalog(t)
	in := everything(t, c)
	st, err := c.Render(EdgeName, in)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(st.Files["stream.conf"])
	for _, want := range []string{"listen 2223;", "set $backend forgejo-forgejo:22;", "listen 1936;", "set $backend peertube-peertube:1935;", "listen 27750;"} {
		if !strings.Contains(conf, want) {
			t.Errorf("stream.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "3478") || strings.Contains(conf, "listen 25;") {
		t.Errorf("ports published on the node are not proxied:\n%s", conf)
	}
	// Without an app that needs it, no stream service.
	in.Selected = []string{"drawio", EdgeName}
	bare, err := c.Render(EdgeName, in)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := bare.Files["stream.conf"]; ok || strings.Contains(string(bare.Files["stack.yaml"]), "stream:") {
		t.Error("a stream proxy with nothing to forward")
	}
	module := "/usr/lib/nginx/modules/ngx_stream_module.so"
	if _, err := os.Stat(module); err != nil {
		t.Skipf("no nginx stream module at %s (scripts/test installs libnginx-mod-stream)", module)
	}
	// nginx -t as nobody in a network namespace of its own, the edge's
	// nginx.conf with Debian's stream module loaded (as the stand-in's
	// modules-enabled does) and paths moved under the prefix.
	prefix := t.TempDir()
	os.MkdirAll(filepath.Join(prefix, "logs"), 0o777)
	if !strings.Contains(conf, "include /etc/nginx/modules-enabled/*.conf;") {
		t.Error("stream.conf does not load Debian's modules (the stand-in's stream module)")
	}
	conf = strings.NewReplacer("include /etc/nginx/modules-enabled/*.conf;", "load_module "+module+";",
		"/var/log/nginx/error.log", prefix+"/logs/error.log", "/var/run/nginx.pid", prefix+"/nginx.pid").Replace(conf)
	if err := os.WriteFile(filepath.Join(prefix, "nginx.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{nginxBin, "-t", "-e", "stderr", "-p", prefix + "/", "-c", prefix + "/nginx.conf"}
	cmd := exec.Command("unshare", append([]string{"--user", "--map-root-user", "--net", "--"}, args...)...)
	if os.Geteuid() == 0 {
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
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
}

// An app whose ports are published on the edge's node cannot be placed
// on a label the manager does not carry: the plan says so.
func TestStepsRefuseAnEdgeNodeAppOffTheManagersLabel(t *testing.T) {
	c := loadCatalog(t)
	s := labSite()
	s.Components["freeradius"] = site.Component{Placement: site.LabelCommon}
	if _, err := c.Steps(s, "lab-1"); err == nil || !strings.Contains(err.Error(), "components.freeradius.placement") {
		t.Errorf("freeradius on common: %v", err)
	}
}
