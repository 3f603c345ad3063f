package network

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
)

// freePort returns a UDP and TCP port free on 127.0.0.1 just now.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		l, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.LocalAddr().(*net.UDPAddr).Port
		l.Close()
		if tl, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			tl.Close()
			return port
		}
	}
	t.Fatal("no free port on 127.0.0.1")
	return 0
}

func needDnsmasq(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("dnsmasq"); err != nil {
		t.Skip("dnsmasq is not installed (apt-get install dnsmasq-base)")
	}
}

// startDnsmasq checks conf with `dnsmasq --test` and runs it in the
// foreground until the test ends; it answers on 127.0.0.1:port.
func startDnsmasq(t *testing.T, conf []byte, port int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dnsmasq.conf")
	if err := os.WriteFile(path, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("dnsmasq", "--test", "-C", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "syntax check OK") {
		t.Fatalf("dnsmasq --test -C %s: %v: %s\n%s", path, err, out, conf)
	}
	cmd := exec.Command("dnsmasq", "-k", "-C", path, "--no-hosts", "--pid-file="+filepath.Join(t.TempDir(), "pid"), "--log-facility=-")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitDNS(t, addr)
	return addr
}

// waitDNS waits until something answers DNS over TCP on addr.
func waitDNS(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing answers DNS on %s", addr)
}

func resolve(t *testing.T, r *net.Resolver, name string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := r.LookupIP(ctx, "ip4", name)
	if err != nil {
		t.Errorf("resolve %s: %v", name, err)
		return nil
	}
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	sort.Strings(out)
	return out
}

// TestDnsmasqSplitHorizon runs dnsmasq with the rendered split-horizon
// config on loopback and resolves the site's names with real queries.
// Upstreams point at a loopback address, so nothing leaves the machine.
func TestDnsmasqSplitHorizon(t *testing.T) {
	needDnsmasq(t)
	s := testSite(t)
	port := freePort(t)
	conf, err := RenderDnsmasq(s, DnsmasqOptions{Listen: "127.0.0.1", Port: port, Upstreams: []string{"127.0.0.9"}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "split.dnsmasq.golden", []byte(strings.ReplaceAll(string(conf), fmt.Sprint(port), "PORT")))
	r := ResolverAt(startDnsmasq(t, conf, port))
	for name, want := range map[string]string{
		"collab.example.org":       "10.10.0.11",
		"cloud.collab.example.org": "10.10.0.11",
		"pad.collab.example.org":   "10.10.0.11",
		"x.pad.collab.example.org": "10.10.0.11",
		"mail.collab.example.org":  "10.10.0.11",
		"swarm-worker.lan":         "10.10.0.12",
		"vpn-softether.lan":        "10.10.0.3",
		"swarm-manager":            "10.10.0.11",
	} {
		if got := resolve(t, r, name); strings.Join(got, ",") != want {
			t.Errorf("%s resolves to %v, want %s", name, got, want)
		}
	}
}

// TestDNSCheck runs DNSCheck against a dnsmasq on loopback that plays
// the public DNS: some records right, one wrong, one missing, an AAAA
// that should not be there, no MX.
func TestDNSCheck(t *testing.T) {
	needDnsmasq(t)
	s := testSite(t)
	port := freePort(t)
	public := fmt.Sprintf(`no-resolv
listen-address=127.0.0.1
bind-interfaces
port=%d
local=/collab.example.org/
host-record=collab.example.org,203.0.113.7
host-record=cloud.collab.example.org,203.0.113.7,2001:db8::7
host-record=office.collab.example.org,198.51.100.1
host-record=mail.collab.example.org,203.0.113.7
`, port)
	r := ResolverAt(startDnsmasq(t, []byte(public), port))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := DNSCheck(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rec := range recs {
		got[rec.Type+" "+rec.Name] = rec.Status
		if rec.Status != RecordOK && rec.Fix == "" {
			t.Errorf("%s has no fix", rec)
		}
		t.Log(rec)
	}
	want := map[string]string{
		"A collab.example.org":          RecordOK,
		"A cloud.collab.example.org":    RecordOK,
		"AAAA cloud.collab.example.org": RecordExtra,
		"A office.collab.example.org":   RecordWrong,
		"A pad.collab.example.org":      RecordMissing,
		"A mail.collab.example.org":     RecordOK,
		"MX collab.example.org":         RecordMissing,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: status %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d: %v", len(got), len(want), got)
	}
	// Without public_ipv4 the wanted address is unknown.
	s.Network.PublicIPv4 = ""
	recs, err = DNSCheck(ctx, s, r)
	if err != nil || recs[0].Status != RecordUnknown {
		t.Errorf("without public_ipv4: %v %v", recs, err)
	}
}

// TestSmartDNS runs the DNS steps on this machine with a config on a
// loopback port: smartdns starts with the rendered config and answers
// an app name; a second run changes nothing. Upstreams are a loopback
// address: no query leaves the machine.
func TestSmartDNS(t *testing.T) {
	if _, err := exec.LookPath("smartdns"); err != nil {
		t.Skip("smartdns is not installed (apt-get install smartdns)")
	}
	s := testSite(t)
	s.Network.Upstreams = []string{"127.0.0.9"}
	dir := t.TempDir()
	port := freePort(t)
	o := SmartDNSOptions{Bind: "127.0.0.1", Port: port, Conf: filepath.Join(dir, "smartdns.conf"), PIDFile: filepath.Join(dir, "smartdns.pid")}
	t.Cleanup(func() {
		if pid, err := os.ReadFile(o.PIDFile); err == nil {
			exec.Command("kill", strings.TrimSpace(string(pid))).Run()
		}
	})
	conf, err := RenderSmartDNS(s, o)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "smartdns.conf.golden", []byte(strings.ReplaceAll(string(conf), fmt.Sprint(port), "PORT")))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := testEnv(t, host.NewLocal("dns-test"))
	steps := DNSSteps(s, "dns-test", o)
	if os.Geteuid() != 0 {
		steps = steps[1:] // installing needs root; the package is there
	}
	if n := runSteps(ctx, t, env, steps); n < 1 {
		t.Errorf("first run changed %d steps", n)
	}
	r := ResolverAt(fmt.Sprintf("127.0.0.1:%d", port))
	waitDNS(t, fmt.Sprintf("127.0.0.1:%d", port))
	if got := resolve(t, r, "cloud.collab.example.org"); strings.Join(got, ",") != "10.10.0.11" {
		t.Errorf("smartdns answers %v for nextcloud, want 10.10.0.11", got)
	}
	if n := runSteps(ctx, t, env, DNSSteps(s, "dns-test", o)); n != 0 {
		t.Errorf("second run changed %d steps, want 0", n)
	}
}

// TestUCIDnsmasqEquivalent: the router's UCI batch carries the same
// split-horizon names as the dnsmasq config, so the dnsmasq test above
// stands for the routers too.
func TestUCIDnsmasqEquivalent(t *testing.T) {
	s := testSite(t)
	batch, err := RenderUCI(s, OuterRouterName, RouterOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := RenderDnsmasq(s, DnsmasqOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(conf), "\n") {
		if a, ok := strings.CutPrefix(line, "address="); ok && !strings.Contains(string(batch), "address='"+a+"'") {
			t.Errorf("the UCI batch lacks address %s", a)
		}
	}
}
