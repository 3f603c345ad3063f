package pveinstall_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/pveinstall"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/templates"
)

// TestScriptsAreShellcheckClean runs shellcheck on every step script
// behind the one lib.sh (steps/script) and on the scripts installed on
// the host, rendered with values that need quoting.
func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck)")
	}
	check := func(name, text string) {
		cmd := exec.Command("shellcheck", "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
	// Every value any of the scripts takes; a missing one is an error.
	data := map[string]any{
		"MinMemMB": "4096", "MinDiskGB": "32", "RequireVirt": "1",
		"RepoURL": "http://download.example/debian/pve", "KeyURL": "https://example/key's.gpg", "KeySHA512": "ab12",
		"Suite": "bookworm", "RepoComponent": "pve-no-subscription", "Packages": []string{"proxmox-ve", "postfix"},
		"Bridge": "vmbr0", "StateDir": pveinstall.NetStateDir, "LibDir": "/usr/local/lib/collabstack",
		"New": pveinstall.NetStateDir + "/interfaces.new", "RevertSeconds": "120",
		"Stage": "status", "Address": "192.0.2.10/24", "Token": "",
	}
	for _, name := range pveinstall.Scripts() {
		text, err := script.Render(pveinstall.Dir+name, data)
		if err != nil {
			t.Fatal(err)
		}
		check(name, text)
	}
	for _, name := range pveinstall.HostScripts() {
		text, err := script.RenderFile(pveinstall.Dir+name, data)
		if err != nil {
			t.Fatal(err)
		}
		check(name, text)
	}
	// Every .sh under templates/proxmox/install is one of the above, and
	// none brings a lib.sh of its own.
	entries, err := templates.FS.ReadDir(strings.TrimSuffix(pveinstall.Dir, "/"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range append(pveinstall.Scripts(), pveinstall.HostScripts()...) {
		known[n] = true
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sh") && !known[e.Name()] {
			t.Errorf("%s%s is not shellchecked: add it to Scripts or HostScripts", pveinstall.Dir, e.Name())
		}
	}
}

func TestStepsIDsAndOrder(t *testing.T) {
	s := &site.Site{Version: 1, Topology: site.TopologySingle, Domain: "example.org",
		Hosts: []site.Host{{Name: "pve1", Address: "192.0.2.10", Role: site.RolePVEServer}}}
	s.ApplyDefaults()
	steps := pveinstall.Steps(s, "pve1", "hosts/reach/pve1")
	var ids []string
	for _, st := range steps {
		ids = append(ids, st.ID())
		if st.HostName() != "pve1" {
			t.Errorf("%s runs on %q", st.ID(), st.HostName())
		}
		if c, ok := st.(engine.Componented); !ok || c.Component() != pveinstall.Component {
			t.Errorf("%s is not in component %s", st.ID(), pveinstall.Component)
		}
	}
	want := []string{"pve/preflight/pve1", "pve/repo/pve1", "pve/kernel/pve1", "pve/reboot/pve1", "pve/packages/pve1", "pve/cleanup/pve1", "pve/bridge/pve1"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Fatalf("ids = %v, want %v", ids, want)
	}
	if pveinstall.LastID("pve1") != want[len(want)-1] {
		t.Errorf("LastID = %s", pveinstall.LastID("pve1"))
	}
	p := engine.NewPlan()
	p.MustAdd(&engine.Func{StepID: "hosts/reach/pve1", On: "pve1"})
	p.MustAdd(steps...)
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	order := p.Order()
	if strings.Join(order[1:], " ") != strings.Join(want, " ") {
		t.Errorf("order = %v", order)
	}
}

func TestNeedsSumTheHostsVMs(t *testing.T) {
	// Seed 000: a router box and a server box; the default VMs.
	s := &site.Site{Version: 1, Topology: site.TopologyFull, Domain: "example.org", Hosts: []site.Host{
		{Name: "router", Address: "192.0.2.1", Role: site.RolePVERouter},
		{Name: "server", Address: "192.0.2.2", Role: site.RolePVEServer},
	}}
	s.ApplyDefaults()
	mem, disk := pveinstall.Needs(s, "server")
	if mem != 8192+32768+pveinstall.HostMemoryMB || disk != 100+400+pveinstall.HostDiskGB {
		t.Errorf("server needs %d MB, %d GB", mem, disk)
	}
	// The seed's server has 64 GB and 1 TB, the router 16 GB and 128 GB.
	if mem > 64*1024 || disk > 1000 {
		t.Errorf("the default VMs do not fit seed 000's server: %d MB, %d GB", mem, disk)
	}
	mem, disk = pveinstall.Needs(s, "router")
	if mem != 512+512+1024+pveinstall.HostMemoryMB || disk != 1+1+8+pveinstall.HostDiskGB {
		t.Errorf("router needs %d MB, %d GB", mem, disk)
	}
	if mem > 16*1024 || disk > 128 {
		t.Errorf("the default VMs do not fit seed 000's router: %d MB, %d GB", mem, disk)
	}
	if mem, disk := pveinstall.Needs(s, "elsewhere"); mem != pveinstall.HostMemoryMB || disk != pveinstall.HostDiskGB {
		t.Errorf("a host without VMs needs %d MB, %d GB", mem, disk)
	}
}

func TestInterfacesStatic(t *testing.T) {
	f := pveinstall.ParseNetFacts("NIC=eno1\nGATEWAY=192.168.10.1\nADDRESS=192.168.10.2/24\nMAC=aa:bb:cc:dd:ee:ff\nMETHOD=static\nEXTRA=dns-nameservers 192.168.10.1\nEXTRA=dns-search lan\n")
	got, err := pveinstall.Interfaces("pve1", "vmbr0", f)
	if err != nil {
		t.Fatal(err)
	}
	// The layout of the admin guide's "Default Configuration using a Bridge".
	for _, want := range []string{
		"auto lo\niface lo inet loopback\n",
		"\niface eno1 inet manual\n",
		"\nauto vmbr0\niface vmbr0 inet static\n\taddress 192.168.10.2/24\n\tgateway 192.168.10.1\n\tbridge-ports eno1\n\tbridge-stp off\n\tbridge-fd 0\n\tdns-nameservers 192.168.10.1\n\tdns-search lan\n",
		"\nsource /etc/network/interfaces.d/*\n",
	} {
		if !strings.Contains(string(got), want) {
			t.Errorf("interfaces lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "hwaddress") {
		t.Errorf("a static bridge needs no hwaddress:\n%s", got)
	}
}

func TestInterfacesDHCPKeepsTheMAC(t *testing.T) {
	f := pveinstall.ParseNetFacts("NIC=enp1s0\nGATEWAY=10.0.0.1\nADDRESS=10.0.0.7/24\nDYNAMIC=1\nMAC=aa:bb:cc:dd:ee:ff\nMETHOD=dhcp\n")
	got, err := pveinstall.Interfaces("pve1", "vmbr0", f)
	if err != nil {
		t.Fatal(err)
	}
	want := "\nauto vmbr0\niface vmbr0 inet dhcp\n\thwaddress aa:bb:cc:dd:ee:ff\n\tbridge-ports enp1s0\n"
	if !strings.Contains(string(got), want) || strings.Contains(string(got), "address 10.0.0.7") || !strings.Contains(string(got), "\nsource /etc/network/interfaces.d/*\n") {
		t.Errorf("got:\n%s\nwant it to contain %q", got, want)
	}
}

func TestInterfacesRefusesWhatItCannotMoveSafely(t *testing.T) {
	for facts, want := range map[string]string{
		"":                              "no IPv4 default route",
		"NIC=vmbr0\nMETHOD=static\n":    "routes through vmbr0 already",
		"NIC=br0\nIS_BRIDGE=1\n":        "routes through the bridge br0",
		"NIC=eno1\nADDRESS=10.0.0.2/24": "has no stanza for eno1",
		"NIC=eno1\nMETHOD=manual\n":     "inet manual",
		"NIC=eno1\nMETHOD=static\nADDRESS=10.0.0.2/24\nINET6=1\n":                             "inet6",
		"NIC=eno1\nMETHOD=static\nADDRESS=10.0.0.2/24\nOTHER_FILE=/etc/network/x\n":           "/etc/network/x",
		"NIC=eno1\nMETHOD=static\nADDRESS=10.0.0.2/24\nOTHER_IFACE=eno2\nOTHER_IFACE=vmbr1\n": "other interfaces too (eno2, vmbr1)",
		"NIC=eno1\nMETHOD=static\nADDRESS=10.0.0.2/24\nOTHER_IFACE=vmbr0\n":                   "declares vmbr0, but it does not exist",
	} {
		_, err := pveinstall.Interfaces("pve1", "vmbr0", pveinstall.ParseNetFacts(facts))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("facts %q: err = %v, want %q", facts, err, want)
		}
		if err != nil && engine.HintOf(err) == "" && want != "" {
			t.Errorf("facts %q: no hint in %v", facts, err)
		}
	}
}
