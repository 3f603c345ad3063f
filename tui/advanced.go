package tui

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/collabstack/collabstack/steps/site"
)

// advanced holds the answers of the "Advanced" page: what the site file
// otherwise fills with defaults. Empty means the page was never shown, so
// the site file keeps what it had (or gets the defaults).
type advanced struct {
	shown                       bool
	imageSource, mirror, bundle string
	lan, vpn                    string
	// jump and labels per host, by index of d.hosts.
	jump, labels []string
	// vms: size ("4 cores, 8192 MB, 100 GB") and address per default VM.
	vmSize, vmAddr []string
}

// defaults is the site with every default filled in but none of the
// advanced answers: what the page shows as "default".
func (d *draft) defaults() *site.Site {
	saved := d.adv
	d.adv = advanced{}
	s := d.site()
	d.adv = saved
	for i := range s.Hosts {
		s.Hosts[i].Labels, s.Hosts[i].Jump = nil, ""
	}
	s.Images, s.Network, s.Proxmox = site.Images{}, nil, nil
	s.ApplyDefaults()
	return s
}

// hasVMs reports whether the topology creates VMs (and routed networks).
func (d *draft) hasVMs() bool {
	return d.topology == site.TopologySingle || d.topology == site.TopologyFull
}

// startAdvanced fills the answers with what the site has now (the
// defaults, or the site file's values when adding to an existing site).
func (d *draft) startAdvanced() {
	if d.adv.shown {
		return
	}
	cur := d.withDefaults()
	a := advanced{shown: true, imageSource: cur.Images.Source, mirror: cur.Images.Mirror, bundle: cur.Images.Bundle}
	for _, h := range cur.Hosts {
		a.jump = append(a.jump, h.Jump)
		a.labels = append(a.labels, labelsText(h.Labels))
	}
	if d.hasVMs() && cur.Network != nil && cur.Proxmox != nil {
		a.lan, a.vpn = cur.Network.LAN, cur.Network.VPN
		// An address left empty is the default, which follows the LAN.
		probe := *cur
		probe.Proxmox = &site.Proxmox{Storage: cur.Proxmox.Storage}
		probe.ApplyDefaults()
		for i, vm := range cur.Proxmox.VMs {
			a.vmSize = append(a.vmSize, sizeText(vm))
			addr := vm.Address
			if i < len(probe.Proxmox.VMs) && addr == probe.Proxmox.VMs[i].Address {
				addr = ""
			}
			a.vmAddr = append(a.vmAddr, addr)
		}
	}
	d.adv = a
}

// applyAdvanced writes the answers into s (the site being built); only
// values that differ from the defaults reach the site file.
func (d *draft) applyAdvanced(s *site.Site) {
	a := d.adv
	if !a.shown {
		return
	}
	s.Images = site.Images{}
	if a.imageSource != "" && a.imageSource != site.ImagesPull {
		s.Images = site.Images{Source: a.imageSource}
		switch a.imageSource {
		case site.ImagesMirror:
			s.Images.Mirror = a.mirror
		case site.ImagesBundle:
			s.Images.Bundle = a.bundle
		}
	}
	if !d.hasVMs() {
		return
	}
	net := site.Network{}
	if s.Network != nil {
		net = *s.Network
	}
	net.LAN, net.VPN = "", ""
	if a.lan != site.DefaultLAN {
		net.LAN = a.lan
	}
	if a.vpn != site.DefaultVPN {
		net.VPN = a.vpn
	}
	s.Network = nil
	empty := net.LAN == "" && net.VPN == "" && net.Gateway == "" && net.WANBridge == "" && net.LANBridge == "" &&
		net.VPNBridge == "" && net.PublicIPv4 == "" && len(net.Upstreams) == 0 && len(net.VPNUsers) == 0
	if !empty {
		s.Network = &net
	}
	// The VMs: the defaults for this network, with the answers applied;
	// written out only when an answer differs.
	probe := detached(s)
	if probe.Proxmox != nil {
		probe.Proxmox.VMs = nil
	}
	probe.ApplyDefaults()
	vms := append([]site.VM(nil), probe.Proxmox.VMs...)
	changed := false
	for i := range vms {
		if i < len(a.vmSize) {
			if c, m, g, err := parseSize(a.vmSize[i]); err == nil && (c != vms[i].Cores || m != vms[i].MemoryMB || g != vms[i].DiskGB) {
				vms[i].Cores, vms[i].MemoryMB, vms[i].DiskGB, changed = c, m, g, true
			}
		}
		if i < len(a.vmAddr) && a.vmAddr[i] != "" && a.vmAddr[i] != vms[i].Address {
			vms[i].Address, changed = a.vmAddr[i], true
		}
	}
	if changed {
		px := site.Proxmox{}
		if s.Proxmox != nil {
			px = *s.Proxmox
		}
		px.VMs = vms
		s.Proxmox = &px
	} else if s.Proxmox != nil && d.base == nil {
		s.Proxmox = nil
	}
}

// keepHostAnswers writes the page's jump and labels answers into the
// hosts; labels equal to the role's default are left to the default.
func (d *draft) keepHostAnswers() {
	a := d.adv
	for i, h := range d.hosts {
		if i >= len(a.jump) || i >= len(a.labels) {
			break
		}
		h.Jump = strings.TrimSpace(a.jump[i])
		l, err := parseLabels(a.labels[i])
		if err != nil {
			continue
		}
		if labelsText(l) == labelsText(defaultLabels(h.Host)) {
			l = nil
		}
		h.Labels = l
	}
}

// detached is a copy of s that ApplyDefaults can fill without writing
// into s: its hosts, network and VMs are copies.
func detached(s *site.Site) *site.Site {
	c := *s
	c.Hosts = append([]site.Host(nil), s.Hosts...)
	if s.Network != nil {
		n := *s.Network
		c.Network = &n
	}
	if s.Proxmox != nil {
		px := *s.Proxmox
		px.VMs = append([]site.VM(nil), s.Proxmox.VMs...)
		c.Proxmox = &px
	}
	return &c
}

// nonDefaults lists, one line each, every advanced answer that is not the
// default: what the review page shows.
func (d *draft) nonDefaults() []string {
	if !d.adv.shown {
		return nil
	}
	def, cur := d.defaults(), d.withDefaults()
	var out []string
	if cur.Images != def.Images {
		line := "images from " + cur.Images.Source
		switch cur.Images.Source {
		case site.ImagesMirror:
			line += " " + cur.Images.Mirror
		case site.ImagesBundle:
			line += " " + cur.Images.Bundle
		}
		out = append(out, line)
	}
	for i, h := range cur.Hosts {
		if i >= len(def.Hosts) {
			break
		}
		if h.Jump != "" {
			out = append(out, h.Name+" reached through "+h.Jump)
		}
		if labelsText(h.Labels) != labelsText(def.Hosts[i].Labels) {
			out = append(out, h.Name+" labelled "+orDefault(labelsText(h.Labels), "(none)"))
		}
	}
	if cur.Network != nil && def.Network != nil {
		if cur.Network.LAN != def.Network.LAN {
			out = append(out, "LAN "+cur.Network.LAN)
		}
		if cur.Network.VPN != def.Network.VPN {
			out = append(out, "VPN "+cur.Network.VPN)
		}
	}
	if cur.Proxmox != nil && def.Proxmox != nil && len(cur.Proxmox.VMs) == len(def.Proxmox.VMs) {
		// The defaults follow the LAN: compare with the VMs of this LAN.
		probe := *cur
		probe.Proxmox = &site.Proxmox{Storage: cur.Proxmox.Storage}
		probe.ApplyDefaults()
		for i, vm := range cur.Proxmox.VMs {
			dv := probe.Proxmox.VMs[i]
			if sizeText(vm) != sizeText(dv) {
				out = append(out, vm.Name+" "+sizeText(vm))
			}
			if vm.Address != dv.Address {
				out = append(out, vm.Name+" at "+vm.Address)
			}
		}
	}
	return out
}

// candidate is the site as apply would see it with one more change, for a
// field's check.
func (d *draft) candidate(change func(s *site.Site)) *site.Site {
	s := d.withDefaults()
	change(s)
	return s
}

func defaultLabels(h site.Host) map[string]string {
	one := &site.Site{Hosts: []site.Host{{Name: h.Name, Role: h.Role}}}
	one.ApplyDefaults()
	return one.Hosts[0].Labels
}

// labelsText writes labels as "k=v, k2=v2", sorted.
func labelsText(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, ", ")
}

// parseLabels reads "k=v, k2=v2"; empty is no labels.
func parseLabels(v string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q has no value: write labels as key=value, separated by commas, such as role=common, gpu=yes", part)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func sizeText(vm site.VM) string {
	return fmt.Sprintf("%s, %d MB, %d GB", plural(vm.Cores, "core"), vm.MemoryMB, vm.DiskGB)
}

var numberRE = regexp.MustCompile(`[0-9]+`)

// parseSize reads "4 cores, 8192 MB, 100 GB": three numbers in that order.
func parseSize(v string) (cores, memMB, diskGB int, err error) {
	nums := numberRE.FindAllString(v, -1)
	if len(nums) != 3 {
		return 0, 0, 0, fmt.Errorf("write the size as cores, memory in MB and disk in GB, such as 4 cores, 8192 MB, 100 GB")
	}
	cores, _ = strconv.Atoi(nums[0])
	memMB, _ = strconv.Atoi(nums[1])
	diskGB, _ = strconv.Atoi(nums[2])
	return cores, memMB, diskGB, nil
}

// The checks of the advanced answers: each builds the site with the value
// and keeps the site validation's error about that field.

func (d *draft) checkMirror(v string) error {
	return fieldOf(d.candidate(func(s *site.Site) { s.Images = site.Images{Source: site.ImagesMirror, Mirror: v} }), "images.mirror")
}

func (d *draft) checkBundle(v string) error {
	return fieldOf(d.candidate(func(s *site.Site) { s.Images = site.Images{Source: site.ImagesBundle, Bundle: v} }), "images.bundle")
}

func (d *draft) checkJump(i int) func(string) error {
	return func(v string) error {
		return fieldOf(d.candidate(func(s *site.Site) { s.Hosts[i].Jump = strings.TrimSpace(v) }), fmt.Sprintf("hosts[%d].jump", i))
	}
}

func (d *draft) checkLabels(i int) func(string) error {
	return func(v string) error {
		l, err := parseLabels(v)
		if err != nil {
			return err
		}
		return fieldOf(d.candidate(func(s *site.Site) { s.Hosts[i].Labels = l }), fmt.Sprintf("hosts[%d].labels", i))
	}
}

func (d *draft) checkLAN(v string) error {
	return fieldOf(d.candidate(func(s *site.Site) { s.Network.LAN, s.Network.Gateway = v, ""; s.ApplyDefaults() }), "network.lan")
}

func (d *draft) checkVPN(v string) error {
	return fieldOf(d.candidate(func(s *site.Site) { s.Network.VPN = v }), "network.vpn")
}

func (d *draft) checkVMSize(i int) func(string) error {
	return func(v string) error {
		c, m, g, err := parseSize(v)
		if err != nil {
			return err
		}
		s := d.candidate(func(s *site.Site) {
			s.Proxmox.VMs[i].Cores, s.Proxmox.VMs[i].MemoryMB, s.Proxmox.VMs[i].DiskGB = c, m, g
		})
		for _, f := range []string{"cores", "memory_mb", "disk_gb"} {
			if err := fieldOf(s, fmt.Sprintf("proxmox.vms[%d].%s", i, f)); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
		}
		return nil
	}
}

func (d *draft) checkVMAddr(i int) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil // the default, inside whatever LAN is chosen
		}
		return fieldOf(d.candidate(func(s *site.Site) { s.Proxmox.VMs[i].Address = v }), fmt.Sprintf("proxmox.vms[%d].address", i))
	}
}
