package network

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/labtest"
	"github.com/collabstack/collabstack/steps/lab"
)

// TestSoftEtherAndSmartDNSUnderSystemd runs the SoftEther and SmartDNS
// steps on a lab node that boots with systemd, over SSH, so their service
// scripts take the systemd branch (the local tests above run the other
// one): both packages are installed from Debian, the units enabled and
// started; after the node restarts they run again by themselves; a second
// run of the steps changes nothing. SmartDNS's upstream is a loopback
// address, so no query leaves the node.
func TestSoftEtherAndSmartDNSUnderSystemd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a lab node and installs packages")
	}
	l := labtest.Start(t, 1, lab.ImageBase)
	h := l.Dial(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		// What systemd says about both, for the failure above.
		dctx, dcancel := context.WithTimeout(context.Background(), time.Minute)
		defer dcancel()
		out, _ := exec.CommandContext(dctx, "docker", "exec", l.Nodes[0].Container, "sh", "-c",
			"systemctl status --no-pager softether-vpnserver smartdns 2>&1 | head -40; journalctl --no-pager -n 40 -u smartdns -u softether-vpnserver 2>&1").CombinedOutput()
		t.Logf("on %s:\n%s", l.Nodes[0].Name, out)
	})
	if out, err := h.Run(ctx, "test -d /run/systemd/system && systemctl is-system-running --wait || true", host.RunOpts{}); err != nil {
		t.Fatalf("the node does not run systemd: %v %s", err, out)
	}

	s := testSite(t)
	s.Network.Upstreams = []string{"127.0.0.9"}
	name := l.Nodes[0].Name
	env := testEnv(t, h)
	vpn := SoftEtherStepsWith(s, name, t.TempDir(), SoftEtherOptions{Mode: ModeSecureNAT, PublicHost: "vpn.collab.example.org"})
	dns := DNSSteps(s, name, SmartDNSOptions{})
	steps := append(append([]engine.Step{}, vpn...), dns...)
	if n := runSteps(ctx, t, env, steps); n < len(steps)-2 {
		t.Errorf("first run changed %d of %d steps", n, len(steps))
	}
	units := func(when string) {
		t.Helper()
		for _, u := range []string{"softether-vpnserver", "smartdns"} {
			out, err := h.Run(ctx, "systemctl is-enabled "+u+"; systemctl is-active "+u, host.RunOpts{})
			if err != nil || strings.Fields(out)[0] != "enabled" || strings.Fields(out)[1] != "active" {
				st, _ := h.Run(ctx, "systemctl status --no-pager "+u+" 2>&1 | head -20", host.RunOpts{})
				t.Errorf("%s: %s is %q (%v), want enabled and active:\n%s", when, u, out, err, st)
			}
		}
		// Each listens where the steps said: the VPN's admin port and
		// smartdns's DNS port, and smartdns answers an app name.
		out, _ := h.Run(ctx, "ss -ltn; ss -lun", host.RunOpts{})
		for _, port := range []string{":5555 ", ":6053 "} {
			if !strings.Contains(out, port) {
				t.Errorf("%s: nothing listens on %s:\n%s", when, port, out)
			}
		}
		var got string
		for i := 0; i < 20; i++ {
			got, _ = h.Run(ctx, "python3 -c "+host.Quote(dnsQuery("cloud.collab.example.org", 6053)), host.RunOpts{})
			if strings.TrimSpace(got) != "" {
				break
			}
			time.Sleep(time.Second)
		}
		if strings.TrimSpace(got) != "10.10.0.11" {
			t.Errorf("%s: smartdns answers %q for cloud.collab.example.org, want 10.10.0.11", when, got)
		}
	}
	units("after the steps")

	// Started at boot: restart the node and look again.
	container := l.Nodes[0].Container
	if out, err := exec.CommandContext(ctx, "docker", "restart", "-t", "5", container).CombinedOutput(); err != nil {
		t.Fatalf("docker restart %s: %v %s", container, err, out)
	}
	// Dial again once sshd answers in the restarted node.
	for i := 0; i < 180; i++ {
		if exec.CommandContext(ctx, "docker", "exec", container, "systemctl", "is-active", "-q", "ssh").Run() == nil {
			break
		}
		time.Sleep(time.Second)
	}
	h = l.Dial(t, 0)
	h.Run(ctx, "systemctl is-system-running --wait >/dev/null 2>&1 || true", host.RunOpts{})
	env.Host = h
	units("after the node restarted")
	if n := runSteps(ctx, t, env, steps); n != 0 {
		t.Errorf("second run changed %d steps, want 0", n)
	}
}

// dnsQuery is a python3 one-liner (the lab image has python3, not dig)
// that asks 127.0.0.1:port for the A record of name and prints the
// addresses.
func dnsQuery(name string, port int) string {
	return fmt.Sprintf(`import socket,struct
q=b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"+b"".join(bytes([len(p)])+p.encode() for p in %q.split("."))+b"\x00\x00\x01\x00\x01"
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(2);s.sendto(q,("127.0.0.1",%d))
r=s.recv(512);n=struct.unpack(">H",r[6:8])[0];i=len(q)
for _ in range(n):
    i+=2 if r[i]&0xc0==0xc0 else r.index(b"\x00",i)+1-i
    t,c,ttl,l=struct.unpack(">HHIH",r[i:i+10]);i+=10
    if t==1: print(".".join(str(b) for b in r[i:i+l]))
    i+=l
`, name, port)
}
