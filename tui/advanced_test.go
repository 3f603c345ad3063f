package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/site"
)

// The advanced page: "No" keeps every default and writes nothing more;
// "Yes" shows each value with its default, refuses what the site
// validation refuses (in place), and the review lists every change; the
// site file gets exactly the changed values.
func TestWizardAdvancedPage(t *testing.T) {
	be := NewFakeBackend()
	key := writeKey(t, t.TempDir())
	dr := testedDraft(be, key)
	dr.domain, dr.email, dr.tls = "example.org", "admin@example.org", site.TLSLetsEncrypt
	d := docWizard(t, be, dr, &advancedPage{}, nil)
	d.requireView("Change the advanced settings?", "jump hosts, node labels and the image source")
	d.keys("left", "enter") // Yes
	d.requireView("Image source", "default: pull")
	d.keys("down", "enter") // a mirror
	d.requireView("Registry mirror")
	d.typ("bad mirror")
	d.requireView("is not a registry address")
	for range len("bad mirror") {
		d.keys("backspace")
	}
	d.typ("registry.lan:5000")
	d.keys("enter")
	d.requireView("main: jump host", "default: none (direct)", "main: node labels", "default: role=infra")
	d.typ("main")
	d.requireView("a host cannot jump through itself")
	for range len("main") {
		d.keys("backspace")
	}
	d.keys("enter")
	d.typ(", gpu=yes")
	d.keys("enter")
	d.requireView("Review", "Advanced", "images from mirror registry.lan:5000; main labelled gpu=yes, role=infra")

	s := dr.site()
	if s.Images.Source != site.ImagesMirror || s.Images.Mirror != "registry.lan:5000" {
		t.Errorf("images %+v", s.Images)
	}
	if s.Hosts[0].Labels["gpu"] != "yes" || s.Hosts[0].Labels["role"] != "infra" || s.Hosts[0].Jump != "" {
		t.Errorf("host %+v", s.Hosts[0])
	}
	if s.Network != nil || s.Proxmox != nil {
		t.Errorf("a kopnik site got network or VMs: %+v %+v", s.Network, s.Proxmox)
	}
}

// Keeping the defaults changes nothing in the site file.
func TestWizardAdvancedDefaultsWriteNothing(t *testing.T) {
	be := NewFakeBackend()
	dr := testedDraft(be, writeKey(t, t.TempDir()))
	before, _ := dr.site().Marshal()
	d := docWizard(t, be, dr, &advancedPage{}, nil)
	d.keys("enter")
	d.requireView("Review", "all defaults")
	after, _ := dr.site().Marshal()
	if string(before) != string(after) {
		t.Errorf("the site file changed:\n%s\nwas:\n%s", after, before)
	}
}

// A Proxmox site: the VMs' sizes and addresses and the network ranges
// with their defaults; the defaults of the VM addresses follow the LAN.
func TestAdvancedVMsAndNetwork(t *testing.T) {
	be := NewFakeBackend()
	dr := newDraft(be.Catalog())
	dr.topology = site.TopologySingle
	dr.domain, dr.email, dr.tls = "example.org", "admin@example.org", site.TLSLetsEncrypt
	dr.hosts = []*hostDraft{{Host: hostOf("server", site.RolePVEServer, "10.0.0.1", "~/.ssh/id_ed25519", nil)}}
	dr.startAdvanced()
	if len(dr.adv.vmSize) == 0 || dr.adv.lan != site.DefaultLAN {
		t.Fatalf("answers %+v", dr.adv)
	}
	if err := dr.checkVMSize(0)("1 cores, 64 MB, 1 GB"); err == nil || !strings.Contains(err.Error(), "memory_mb") {
		t.Errorf("64 MB accepted: %v", err)
	}
	if err := dr.checkVMAddr(0)("192.168.5.5/24"); err == nil || !strings.Contains(err.Error(), "outside the LAN") {
		t.Errorf("address outside the LAN accepted: %v", err)
	}
	if err := dr.checkVPN(site.DefaultLAN); err == nil {
		t.Error("a VPN range on the LAN accepted")
	}
	last := len(dr.adv.vmSize) - 1
	dr.adv.vmSize[last] = "16 cores, 65536 MB, 800 GB"
	s := dr.withDefaults()
	vm := s.Proxmox.VMs[last]
	if vm.Cores != 16 || vm.MemoryMB != 65536 || vm.DiskGB != 800 {
		t.Errorf("VM %+v", vm)
	}
	nd := strings.Join(dr.nonDefaults(), "; ")
	if !strings.Contains(nd, vm.Name+" 16 cores, 65536 MB, 800 GB") || strings.Contains(nd, "LAN") {
		t.Errorf("non-defaults: %s", nd)
	}
	if err := be.Validate(dr.withDefaults()); err != nil {
		t.Errorf("validate: %v", err)
	}

	// Another LAN: the addresses left empty follow it.
	if err := dr.checkLAN("10.30.0.0/24"); err != nil {
		t.Fatal(err)
	}
	dr.adv.lan = "10.30.0.0/24"
	s = dr.withDefaults()
	if a := s.Proxmox.VMs[0].Address; !strings.HasPrefix(a, "10.30.0.") {
		t.Errorf("the first VM is at %s, not on the new LAN", a)
	}
	if err := be.Validate(s); err != nil {
		t.Errorf("validate with the new LAN: %v", err)
	}
	nd = strings.Join(dr.nonDefaults(), "; ")
	if !strings.Contains(nd, "LAN 10.30.0.0/24") || strings.Contains(nd, " at ") {
		t.Errorf("non-defaults: %s", nd)
	}
}

// The plain wizard asks the same advanced questions, line by line, with
// the defaults in brackets and the site validation's errors.
func TestPlainWizardAdvanced(t *testing.T) {
	dir := t.TempDir()
	key := writeKey(t, dir)
	path := filepath.Join(dir, "site.yaml")
	be := NewFakeBackend()
	script := strings.Join([]string{
		"2", "", "", "10.0.0.30", "", "", "1", key, "y", "y", "n",
		"example.org", "admin@example.org", "1", "nextcloud",
		"y",                 // change the advanced settings
		"2",                 // a registry mirror
		"bad mirror",        // refused
		"registry.lan:5000", // the mirror
		"",                  // main: no jump host
		"role=infra, gpu=yes",
		"2", // write the site file only
	}, "\n") + "\n"
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() { w.WriteString(script); w.Close() }()
	var out bytes.Buffer
	if _, err := RunWizard(context.Background(), Options{Backend: be, SitePath: path, In: r, Out: &out, Plain: true}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"main: node labels (key=value, comma-separated) [role=infra]", "is not a registry address",
		"Advanced:   images from mirror registry.lan:5000; main labelled gpu=yes, role=infra"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, out.String())
		}
	}
	s, err := site.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Images.Mirror != "registry.lan:5000" || s.Hosts[0].Labels["gpu"] != "yes" {
		t.Errorf("site: images %+v, labels %v", s.Images, s.Hosts[0].Labels)
	}
}
