package apps

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/health"
	"github.com/collabstack/collabstack/steps/site"
)

func TestEveryAppHasAProbeThatCanRun(t *testing.T) {
	c := loadCatalog(t)
	in := everything(t, c)
	for _, a := range c.Apps() {
		probes := c.Probes(a.Name, in)
		if len(probes) == 0 {
			t.Errorf("%s: no probe", a.Name)
		}
		for _, p := range probes {
			if err := p.Check(); err != nil {
				t.Errorf("%s: %v", a.Name, err)
			}
			if (p.Kind == health.KindHTTP || p.Kind == health.KindWS) && p.Host != a.Subdomain+"."+in.Domain {
				t.Errorf("%s: probe of %s, not of the app's name", a.Name, p.Host)
			}
		}
		if a.Probe.Note == "" {
			t.Errorf("%s: say in probe.note why this probe and whether it ran against the app", a.Name)
		}
		if a.StartTimeout() < health.DefaultTimeout {
			t.Errorf("%s: %s to start is less than the default", a.Name, a.StartTimeout())
		}
	}
	if k, _ := c.Get("keycloak"); k.StartTimeout() <= health.DefaultTimeout {
		t.Errorf("keycloak (Java) gets only %s", k.StartTimeout())
	}
}

func TestEdgeProbeFollowsItsHTTPSPort(t *testing.T) {
	c := loadCatalog(t)
	in := RenderInput{Domain: "x.test", Components: map[string]site.Component{"edge": {Options: map[string]any{"https_port": 8443}}, "etherpad": {}}}
	p := c.Probes("edge", in)
	if len(p) != 1 || p[0].Port != 8443 || !p[0].TLS || p[0].Host != "x.test" || p[0].Service != "edge_nginx" {
		t.Errorf("edge probe %+v", p)
	}
	if p := c.Probes("etherpad", in); len(p) != 1 || p[0].URL() != "https://pad.x.test:8443/" {
		t.Errorf("etherpad probe %+v", p)
	}
}

func TestLoadRejectsBadProbes(t *testing.T) {
	base := strings.Replace(fmt.Sprintf(goodApp, "a", "a"), "probe: {http: {path: /}}\n", "", 1)
	for probe, want := range map[string]string{
		"":                                       "probe: say how",
		"probe: {}\n":                            "give at least one",
		"probe: {http: {path: x}}\n":             "probe.http.path",
		"probe: {http: {path: /, status: 99}}\n": "probe.http.status",
		"probe: {tcp: {port: 25}}\n":             "not a tcp port the app publishes",
		"probe: {exec: {service: db, command: x}}\n":   `"db" is not a service`,
		"probe: {listen: {port: 1, protocol: sctp}}\n": "tcp or udp",
		"probe: {http: {path: /}, start: 2s}\n":        "probe.start",
		"probe: {http: {path: /}, colour: red}\n":      "colour",
	} {
		_, err := Load(appFS(map[string]string{"a": base + probe}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", probe, err, want)
		}
	}
}

// TestListenCommandReadsProcNet runs the command against this machine's
// /proc/net: a port listened on is found, a closed one is not.
func TestListenCommandReadsProcNet(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if out, err := exec.Command("sh", "-c", ListenCommand(port, "tcp")).CombinedOutput(); err != nil {
		t.Errorf("port %d listened on, not found: %v %s", port, err, out)
	}
	l.Close()
	if err := exec.Command("sh", "-c", ListenCommand(port, "tcp")).Run(); err == nil {
		t.Errorf("closed port %d found", port)
	}
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if err := exec.Command("sh", "-c", ListenCommand(u.LocalAddr().(*net.UDPAddr).Port, "udp")).Run(); err != nil {
		t.Errorf("bound udp port not found: %v", err)
	}
	if got := ListenCommand(8888, "tcp"); !strings.Contains(got, ":22B8 ") || !strings.Contains(got, "/proc/net/tcp6") {
		t.Error(got)
	}
	if got := ListenCommand(1812, "udp"); !strings.Contains(got, ":0714 ") || !strings.Contains(got, "/proc/net/udp") {
		t.Error(got)
	}
}
