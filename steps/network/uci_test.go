package network

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/script"
)

func TestParseUCIBatchQuoting(t *testing.T) {
	cmds, err := ParseUCIBatch(`# a comment
set network.lan.ipaddr='10.10.0.1'
set system.@system[0].hostname="out\"er"
add_list dhcp.@dnsmasq[-1].address='/a.example.org/10.0.0.1'   # trailing comment
set firewall.x.name='it'\''s'
set network.wan.dns=''
set a.b.c=bare\ word
delete firewall.cs_old
add firewall rule
commit
`)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ op, cfg, sec, opt, val string }{
		{"set", "network", "lan", "ipaddr", "10.10.0.1"},
		{"set", "system", "@system[0]", "hostname", `out"er`},
		{"add_list", "dhcp", "@dnsmasq[-1]", "address", "/a.example.org/10.0.0.1"},
		{"set", "firewall", "x", "name", "it's"},
		{"set", "network", "wan", "dns", ""},
		{"set", "a", "b", "c", "bare word"},
		{"delete", "firewall", "cs_old", "", ""},
		{"add", "firewall", "", "", "rule"},
		{"commit", "", "", "", ""},
	}
	if len(cmds) != len(want) {
		t.Fatalf("got %d commands: %+v", len(cmds), cmds)
	}
	for i, w := range want {
		c := cmds[i]
		if c.Op != w.op || c.Config != w.cfg || c.Section != w.sec || c.Option != w.opt || c.Value != w.val {
			t.Errorf("command %d = %+v, want %+v", i, c, w)
		}
	}
}

func TestParseUCIBatchRefuses(t *testing.T) {
	for _, bad := range []string{
		"set network.lan.ipaddr='10.0.0.1", // unterminated quote
		"set network.lan.ipaddr",           // no value
		"set network-x.lan.ipaddr=1",       // bad config name
		"set network.lan-1.ipaddr=1",       // bad section name
		"add_list network.lan=x",           // list needs an option
		"frobnicate network.lan",           // unknown command
		"add firewall",                     // add needs a type
		"set network.lan.ipaddr=1 extra",   // extra argument
		"set network.cs_x='bad type'",      // section type with a space
		`set network.lan.ipaddr="10.0.0.1`, // unterminated double quote
		"delete network.lan=value",         // delete of a section takes no value
		"set network.@zone[x].name=1",      // bad index
		"rename network.lan=bad-name",      // bad new name
		"set network.lan.ipaddr=a\\",       // trailing backslash
		"revert network extra",             // too many arguments
	} {
		if _, err := ParseUCIBatch(bad); err == nil {
			t.Errorf("ParseUCIBatch(%q) accepted it", bad)
		}
	}
}

func TestUCIShowRoundTrip(t *testing.T) {
	def, err := DefaultOpenWrt()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseUCIShow(def.Show())
	if err != nil {
		t.Fatal(err)
	}
	if d := UCIDiff(def, again); len(d) > 0 {
		t.Errorf("show/parse is not stable: %v", d)
	}
	if v, ok := def.Get("firewall", "@zone[1]", "network"); !ok || strings.Join(v, " ") != "wan wan6" {
		t.Errorf("zone 1 networks = %v", v)
	}
}

// TestRenderUCIGolden renders both routers' batches against a fresh
// OpenWrt, compares them with testdata/*.golden (go test -update
// rewrites them), checks they parse, and that applying one to the fresh
// config and rendering again changes nothing: Check is then true.
func TestRenderUCIGolden(t *testing.T) {
	s := testSite(t)
	for _, router := range []string{OuterRouterName, VPNRouterName} {
		t.Run(router, func(t *testing.T) {
			batch, err := RenderUCI(s, router, RouterOptions{SmartDNS: SmartDNSAddress(s, VPNServerName)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, router+".uci.golden", batch)
			live, _ := DefaultOpenWrt()
			diff, err := UCIChanges(live, batch)
			if err != nil {
				t.Fatal(err)
			}
			if len(diff) == 0 {
				t.Fatal("a fresh OpenWrt already has the settings?")
			}
			cmds, _ := ParseUCIBatch(string(batch))
			if err := live.Apply(cmds); err != nil {
				t.Fatal(err)
			}
			again, err := RenderUCI(s, router, RouterOptions{SmartDNS: SmartDNSAddress(s, VPNServerName)}, live)
			if err != nil {
				t.Fatal(err)
			}
			if diff, err := UCIChanges(live, again); err != nil || len(diff) > 0 {
				t.Errorf("second render changes %v (err %v)", diff, err)
			}
			show := live.Show(UCIConfigs...)
			for _, want := range wantLines[router] {
				if !strings.Contains(show, want+"\n") {
					t.Errorf("the configured router lacks %s", want)
				}
			}
		})
	}
}

var wantLines = map[string][]string{
	OuterRouterName: {
		"network.lan.ipaddr='10.10.0.1'",
		"network.wan.proto='dhcp'",
		"dhcp.cs_host_swarm_manager.ip='10.10.0.11'",
		"dhcp.cs_host_vpn_softether.ip='10.10.0.3'",
		"dhcp.@dnsmasq[0].address='/cloud.collab.example.org/10.10.0.11' '/office.collab.example.org/10.10.0.11' '/pad.collab.example.org/10.10.0.11'",
		"dhcp.@dnsmasq[0].server='10.10.0.3#6053' '9.9.9.9' '1.1.1.1'",
		"dhcp.cs_dom_apex.name='collab.example.org'",
		"firewall.cs_fwd_tcp443.dest_ip='10.10.0.11'",
		"firewall.cs_fwd_udp1194.dest_ip='10.10.0.3'",
		"firewall.cs_fwd_udp4500.dest_ip='10.10.0.3'",
		"firewall.cs_fwd_tcp5555.dest_ip='10.10.0.3'",
	},
	VPNRouterName: {
		"network.lan.ipaddr='10.20.0.1'",
		"network.wan.ipaddr='10.10.0.2'",
		"network.wan.gateway='10.10.0.1'",
		"firewall.@zone[1].masq='1'",
		"firewall.cs_vpn_nat.dest='wan'",
		"dhcp.@dnsmasq[0].server='/lan/10.10.0.1' '10.10.0.1'",
	},
}

// TestRenderUCIExistingRouter: on a router that already has collabstack's
// sections, one no longer wanted is deleted and anonymous zones are
// found by name wherever they are.
func TestRenderUCIExistingRouter(t *testing.T) {
	s := testSite(t)
	live, err := ParseUCIShow(`network.lan=interface
network.lan.proto='static'
network.lan.ipaddr='192.168.8.1'
dhcp.@dnsmasq[0]=dnsmasq
dhcp.cs_host_gone=host
dhcp.cs_host_gone.name='gone'
firewall.@zone[0]=zone
firewall.@zone[0].name='guest'
firewall.@zone[1]=zone
firewall.@zone[1].name='wan'
firewall.@zone[2]=zone
firewall.@zone[2].name='lan'
firewall.cs_fwd_tcp8080=redirect
`)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := RenderUCI(s, OuterRouterName, RouterOptions{}, live)
	if err != nil {
		t.Fatal(err)
	}
	text := string(batch)
	for _, want := range []string{"delete dhcp.cs_host_gone\n", "delete firewall.cs_fwd_tcp8080\n", "set firewall.@zone[1].masq='1'\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("batch lacks %q", want)
		}
	}
	if strings.Contains(text, "cs_zone_") {
		t.Errorf("batch creates zones the router has:\n%s", text)
	}
	cmds, _ := ParseUCIBatch(text)
	if err := live.Apply(cmds); err != nil {
		t.Fatal(err)
	}
	if _, ok := live.Get("dhcp", "cs_host_gone", "name"); ok {
		t.Error("the stale host is still there")
	}
	again, _ := RenderUCI(s, OuterRouterName, RouterOptions{}, live)
	if diff, _ := UCIChanges(live, again); len(diff) > 0 {
		t.Errorf("not idempotent: %v", diff)
	}
}

// TestFirstBoot renders the uci-defaults script, compares it with its
// golden file and checks it with sh -n.
func TestFirstBoot(t *testing.T) {
	s := testSite(t)
	script, err := FirstBoot(s, OuterRouterName, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB0gTtw7ZzuPlW2xLhgDnr1j3p1XIJdv7zCRBMtXt5Sl collabstack", "test-password-not-secret", RouterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "outer-openwrt.firstboot.golden", script)
	if !strings.Contains(string(script), "set network.wan.device='eth0'") || !strings.Contains(string(script), "set network.@device[0].ports='eth1'") {
		t.Errorf("outer-openwrt's NICs are not mapped from its bridges [vmbr0 vmbr1]")
	}
	checkShell(t, script)
}

// TestScriptsParse runs sh -n on every shell script the package renders.
func TestScriptsParse(t *testing.T) {
	data := map[string]any{"Name": "r", "Token": "tok", "Window": 120, "Configs": UCIConfigs, "Batch": "/tmp/b", "Key": "ssh-ed25519 AAAA x",
		"Port": 5555, "Conf": "/etc/smartdns/smartdns.conf", "PIDFile": "/run/x.pid"}
	for _, name := range []string{"openwrt/apply.sh.tmpl", "openwrt/confirm.sh.tmpl", "openwrt/access.sh.tmpl"} {
		out, err := render(name, data)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(name), func(t *testing.T) { checkShell(t, out) })
	}
}

// TestStepScriptsAreShellcheckClean renders the scripts that run through
// steps/script behind its lib.sh, as they reach the host, and runs
// shellcheck on them (their systemd and container branches run for real
// in TestSoftEtherAndSmartDNSUnderSystemd and the SoftEther tests).
func TestStepScriptsAreShellcheckClean(t *testing.T) {
	sc := testtools.NeedCommand(t, "shellcheck", "shellcheck (apt-get install shellcheck)")
	data := map[string]any{"Port": 5555, "Conf": "/etc/smartdns/smartdns.conf", "PIDFile": "/run/x.pid", "Restart": false}
	for _, name := range Scripts() {
		text, err := script.Render(Dir+name, data)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(sc, "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
}

func checkShell(t *testing.T, script []byte) {
	t.Helper()
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = strings.NewReader(string(script))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v: %s", err, out)
	}
}

// The router's host key reaches the first-boot script as printf escapes
// that a POSIX sh turns back into the very bytes, every byte value among
// them, and the script stays valid. What this cannot show: OpenWrt's
// busybox printf (it reads the same \NNN escapes) on a real first boot.
func TestFirstBootWritesTheDropbearKey(t *testing.T) {
	s := testSite(t)
	key := make([]byte, 0, 256+83)
	for i := 0; i < 256; i++ {
		key = append(key, byte(i))
	}
	key = append(key, "'\"$(id)`id`%s\\n"...)
	script, err := FirstBoot(s, OuterRouterName, "ssh-ed25519 AAAA collabstack", "pw", RouterOptions{DropbearHostKey: key})
	if err != nil {
		t.Fatal(err)
	}
	checkShell(t, script)
	var line string
	for _, l := range strings.Split(string(script), "\n") {
		if strings.HasPrefix(l, "printf ") && strings.HasSuffix(l, " > /etc/dropbear/dropbear_ed25519_host_key") {
			line = strings.TrimSuffix(l, " > /etc/dropbear/dropbear_ed25519_host_key")
		}
	}
	if line == "" {
		t.Fatalf("no printf of the host key in\n%s", script)
	}
	out, err := exec.Command("sh", "-c", line).Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(key) {
		t.Errorf("printf wrote %q, want %q", out, key)
	}
	plain, _ := FirstBoot(s, OuterRouterName, "ssh-ed25519 AAAA collabstack", "pw", RouterOptions{})
	if strings.Contains(string(plain), "dropbear_ed25519_host_key") {
		t.Error("without a key the script still writes one")
	}
}
