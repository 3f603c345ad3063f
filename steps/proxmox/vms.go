package proxmox

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	px "github.com/luthermonson/go-proxmox"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// Tag marks the VMs collabstack made; with the name it is how a VM is
// found again, so a re-run never makes a VM twice and never touches a
// VM it did not make.
const Tag = "collabstack"

// VMRef is a VM found on a PVE host.
type VMRef struct {
	ID     int
	Name   string
	Node   string
	Status string // running, stopped
}

func hasTag(tags string) bool {
	for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		if strings.EqualFold(t, Tag) {
			return true
		}
	}
	return false
}

// FindVM finds the VM called name that carries the tag collabstack; nil
// when there is none. A VM of that name without the tag is an error: it
// is someone else's.
func (a *API) FindVM(ctx context.Context, name string) (*VMRef, error) {
	node, err := a.Node(ctx)
	if err != nil {
		return nil, err
	}
	var vms px.VirtualMachines
	if err := a.do(ctx, "list the VMs", func(ctx context.Context) error {
		var err error
		vms, err = new(px.Node).New(a.client, node).VirtualMachines(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	var ours, foreign []*px.VirtualMachine
	for _, vm := range vms {
		if vm.Name != name {
			continue
		}
		if hasTag(vm.Tags) {
			ours = append(ours, vm)
		} else {
			foreign = append(foreign, vm)
		}
	}
	switch {
	case len(ours) > 1:
		var ids []string
		for _, vm := range ours {
			ids = append(ids, strconv.Itoa(int(vm.VMID)))
		}
		return nil, engine.WithHint(fmt.Errorf("%d VMs on %s are called %s and tagged %s (IDs %s)", len(ours), a.Host, name, Tag, strings.Join(ids, ", ")),
			"keep one: remove the tag from the others (`qm set ID --delete tags`) or rename them")
	case len(ours) == 1:
		return &VMRef{ID: int(ours[0].VMID), Name: name, Node: node, Status: ours[0].Status}, nil
	case len(foreign) > 0:
		return nil, engine.WithHint(fmt.Errorf("a VM called %s (ID %d) is on %s without the tag %s: collabstack does not touch VMs it did not make", name, foreign[0].VMID, a.Host, Tag),
			"rename or remove that VM, or, if collabstack made it, tag it: `qm set %d --tags %s`", foreign[0].VMID, Tag)
	}
	return nil, nil
}

func (a *API) handle(ref *VMRef) *px.VirtualMachine {
	vm := &px.VirtualMachine{}
	vm.New(a.client, ref.Node, ref.ID)
	return vm
}

// Status reads a VM's status (running, stopped).
func (a *API) Status(ctx context.Context, ref *VMRef) (string, error) {
	vm := a.handle(ref)
	err := a.do(ctx, "read the status of "+ref.Name, vm.Ping)
	return vm.Status, err
}

// Config reads a VM's configuration.
func (a *API) Config(ctx context.Context, ref *VMRef) (*px.VirtualMachineConfig, error) {
	vm := a.handle(ref)
	if err := a.do(ctx, "read the config of "+ref.Name, vm.Ping); err != nil {
		return nil, err
	}
	return vm.VirtualMachineConfig, nil
}

// Start starts a VM and waits for the start task.
func (a *API) Start(ctx context.Context, ref *VMRef) error {
	vm := a.handle(ref)
	var t *px.Task
	if err := a.do(ctx, "start "+ref.Name, func(ctx context.Context) error {
		var err error
		t, err = vm.Start(ctx)
		return err
	}); err != nil {
		return err
	}
	return a.wait(ctx, t, "start "+ref.Name)
}

// VMSpec is what a VM is made of.
type VMSpec struct {
	VM site.VM // with sizes filled (see Sized)
	// Site is the site name (in the description).
	Site string
	// Storage gets the disks (site proxmox.storage, default local-lvm).
	Storage string
	// Image is the volume the system disk is imported from
	// ("local:import/debian-12-genericcloud-amd64-20250210-2019.qcow2").
	Image string
	// LANBridge is the site's LAN bridge; the VM's NIC on it gets MAC
	// and, with cloud-init, Address and Gateway.
	LANBridge, MAC, Gateway string
	// CloudInit is set for Debian VMs.
	CloudInit *CloudInitSpec
}

// CloudInitSpec is the cloud-init part of a VM.
type CloudInitSpec struct {
	// User is made with sudo (ciuser); Key is its authorized key.
	User, Key string
	// Nameservers and SearchDomain for the VM.
	Nameservers  []string
	SearchDomain string
	// Vendor is the snippet volume of vendor-data (guest agent).
	Vendor string
	// UserData is the snippet volume of the VM's own user data, which
	// replaces what PVE makes of User and Key and carries the VM's host
	// key (UserData.Render); "" lets PVE generate it.
	UserData string
}

// Default sizes when the site file leaves them out.
var defaultSizes = map[string]site.VM{
	site.VMDebian:  {Cores: 2, MemoryMB: 2048, DiskGB: 20},
	site.VMOpenWrt: {Cores: 1, MemoryMB: 256, DiskGB: 1},
}

// Sized returns vm with the sizes the site file (the budget the wizard
// writes, or ApplyDefaults) left at zero filled by the kind's default.
func Sized(vm site.VM) site.VM {
	d := defaultSizes[vm.Kind]
	if d.Cores == 0 {
		d = defaultSizes[site.VMDebian]
	}
	if vm.Cores <= 0 {
		vm.Cores = d.Cores
	}
	if vm.MemoryMB <= 0 {
		vm.MemoryMB = d.MemoryMB
	}
	if vm.DiskGB <= 0 {
		vm.DiskGB = d.DiskGB
	}
	return vm
}

// lanIndex is the index of the VM's NIC on the LAN bridge (-1: none).
func (sp VMSpec) lanIndex() int {
	for i, b := range sp.VM.Bridges {
		if b == sp.LANBridge {
			return i
		}
	}
	return -1
}

// Options is the VM as qm create parameters (POST /nodes/{node}/qemu).
func (sp VMSpec) Options() []px.VirtualMachineOption {
	vm := sp.VM
	opt := func(name string, value any) px.VirtualMachineOption {
		return px.VirtualMachineOption{Name: name, Value: value}
	}
	role := vm.Role
	if role == "" {
		role = vm.Kind
	}
	opts := []px.VirtualMachineOption{
		opt("name", vm.Name),
		opt("tags", Tag),
		opt("description", fmt.Sprintf("%s of site %s, made by collabstack. collabstack finds it by its name and the tag %s: keep both.", role, sp.Site, Tag)),
		opt("ostype", "l26"),
		opt("cores", vm.Cores),
		opt("memory", strconv.Itoa(vm.MemoryMB)),
		opt("cpu", "x86-64-v2-AES"),
		opt("scsihw", "virtio-scsi-pci"),
		opt("scsi0", fmt.Sprintf("%s:0,import-from=%s,discard=on", sp.Storage, sp.Image)),
		opt("boot", "order=scsi0"),
		opt("serial0", "socket"),
		opt("vga", "serial0"),
		opt("onboot", 1),
	}
	lan := sp.lanIndex()
	for i, b := range vm.Bridges {
		nic := "virtio,bridge=" + b
		if i == lan && sp.MAC != "" {
			nic = "virtio=" + sp.MAC + ",bridge=" + b
		}
		opts = append(opts, opt(fmt.Sprintf("net%d", i), nic))
	}
	if ci := sp.CloudInit; ci != nil {
		opts = append(opts,
			opt("ide2", sp.Storage+":cloudinit"),
			opt("agent", "enabled=1"),
			opt("ciuser", ci.User),
			opt("sshkeys", px.EncodeSSHKeys(ci.Key)),
			opt("ciupgrade", 0),
		)
		var custom []string
		if ci.UserData != "" {
			custom = append(custom, "user="+ci.UserData)
		}
		if ci.Vendor != "" {
			custom = append(custom, "vendor="+ci.Vendor)
		}
		if len(custom) > 0 {
			opts = append(opts, opt("cicustom", strings.Join(custom, ",")))
		}
		if len(ci.Nameservers) > 0 {
			opts = append(opts, opt("nameserver", strings.Join(ci.Nameservers, " ")))
		}
		if ci.SearchDomain != "" {
			opts = append(opts, opt("searchdomain", ci.SearchDomain))
		}
		if lan >= 0 {
			ipc := "ip=dhcp"
			if p, err := netip.ParsePrefix(vm.Address); err == nil {
				ipc = "ip=" + p.String()
				if sp.Gateway != "" && sp.Gateway != p.Addr().String() {
					ipc += ",gw=" + sp.Gateway
				}
			}
			opts = append(opts, opt(fmt.Sprintf("ipconfig%d", lan), ipc))
		}
	}
	return opts
}

// Create makes the VM and waits for the create task, then grows the
// system disk to the VM's size. It allocates the VM ID with
// /cluster/nextid and tries the next one when another client took it.
func (a *API) Create(ctx context.Context, sp VMSpec, logf func(string, ...any)) (*VMRef, error) {
	node, err := a.Node(ctx)
	if err != nil {
		return nil, err
	}
	n := new(px.Node).New(a.client, node)
	var id int
	for attempt := 0; ; attempt++ {
		if err := a.do(ctx, "get a free VM ID", func(ctx context.Context) error {
			var err error
			id, err = new(px.Cluster).New(a.client).NextID(ctx)
			return err
		}); err != nil {
			return nil, err
		}
		var t *px.Task
		err := a.do(ctx, "create VM "+sp.VM.Name, func(ctx context.Context) error {
			var err error
			t, err = n.NewVirtualMachine(ctx, id, sp.Options()...)
			return err
		})
		if err != nil && attempt < 3 && strings.Contains(err.Error(), "already exists") {
			continue
		}
		if err != nil {
			return nil, err
		}
		logf("creating %s as VM %d on node %s", sp.VM.Name, id, node)
		if err := a.wait(ctx, t, "create VM "+sp.VM.Name); err != nil {
			return nil, err
		}
		break
	}
	ref := &VMRef{ID: id, Name: sp.VM.Name, Node: node, Status: "stopped"}
	if err := a.growDisk(ctx, ref, "scsi0", sp.VM.DiskGB, logf); err != nil {
		return ref, err
	}
	return ref, nil
}

// growDisk grows a disk to gb GiB when it is smaller (never shrinks).
func (a *API) growDisk(ctx context.Context, ref *VMRef, disk string, gb int, logf func(string, ...any)) error {
	conf, err := a.Config(ctx, ref)
	if err != nil {
		return err
	}
	cur := diskSize(conf.SCSIs[disk])
	want := int64(gb) << 30
	if cur >= want {
		return nil
	}
	vm := a.handle(ref)
	var t *px.Task
	if err := a.do(ctx, fmt.Sprintf("grow %s of %s to %d GiB", disk, ref.Name, gb), func(ctx context.Context) error {
		var err error
		t, err = vm.ResizeDisk(ctx, disk, fmt.Sprintf("%dG", gb))
		return err
	}); err != nil {
		return err
	}
	logf("grew %s of %s to %d GiB", disk, ref.Name, gb)
	return a.wait(ctx, t, "grow the disk of "+ref.Name)
}

// diskSize reads size= of a drive string in bytes (0 when absent).
func diskSize(drive string) int64 {
	for _, part := range strings.Split(drive, ",") {
		v, ok := strings.CutPrefix(part, "size=")
		if !ok || v == "" {
			continue
		}
		mult := int64(1)
		switch v[len(v)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			v = v[:len(v)-1]
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0
		}
		return int64(f * float64(mult))
	}
	return 0
}
