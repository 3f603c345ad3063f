// Package proxmox makes the site's VMs on its Proxmox VE hosts through
// the PVE API (github.com/luthermonson/go-proxmox), in idempotent steps:
//
//	proxmox/token/<pve>         API user collabstack@pve, role CollabstackVM
//	                            with only the privileges used (Privileges),
//	                            its ACL on /, and an API token whose secret
//	                            goes to the secrets file (over SSH, pveum)
//	proxmox/bridges/<pve>       the LAN and VPN bridges the VMs join, the
//	                            host's address on the LAN (SSH, pvesh)
//	proxmox/storage/<pve>       storage "local" with content import and
//	                            snippets, the cloud-init vendor snippet
//	proxmox/image/<pve>/<kind>  the pinned Debian cloud image and OpenWrt
//	                            image, downloaded once, checksum verified
//	proxmox/budget/<pve>        the VMs' memory and cores fit the node
//	proxmox/vm/<vm>/image       OpenWrt: the VM's disk with its first-boot
//	                            script (address, UCI, key, root password)
//	proxmox/vm/<vm>/create      the VM, found again by name and tag
//	                            collabstack, so a re-run makes nothing twice
//	proxmox/vm/<vm>/start       started
//	proxmox/vm/<vm>/boot        registered as a host (through the PVE host
//	                            when this machine has no route to it) and
//	                            answering SSH
//	proxmox/vm/<vm>/ready       the first snapshot, collabstack-ready
//
// The API's TLS certificate is pinned on first use (Pins); a changed one
// stops every call with CertMismatchError. SnapshotStep takes a snapshot
// before a risky step; Rollback returns a VM to its last snapshot and
// deletes nothing.
package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/network"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// Component is the --only name of these steps.
const Component = "proxmox"

// Step IDs.
func TokenStepID(pve string) string      { return "proxmox/token/" + pve }
func BridgesID(pve string) string        { return "proxmox/bridges/" + pve }
func StorageID(pve string) string        { return "proxmox/storage/" + pve }
func ImageID(pve, kind string) string    { return "proxmox/image/" + pve + "/" + kind }
func BudgetID(pve string) string         { return "proxmox/budget/" + pve }
func VMStepID(vm, what string) string    { return "proxmox/vm/" + vm + "/" + what }
func SnapshotID(vm, label string) string { return "proxmox/snapshot/" + vm + "/" + label }
func CreateID(vm string) string          { return VMStepID(vm, "create") }
func ReadyID(vm string) string           { return VMStepID(vm, "ready") }

// Options tune the steps beyond the site file.
type Options struct {
	// APIURL maps a PVE host to its API base (default
	// https://ADDRESS:8006/api2/json with the host's address).
	APIURL map[string]string
	// Pins keeps the pinned certificates (default: PinsFile(stateDir)).
	Pins *Pins
	// SkipHostSetup leaves out the steps that work on the PVE host over
	// SSH (token, bridges, storage, images): for a host prepared by hand,
	// with the token already in the secrets file and the images in
	// storage "local". The VM steps then need only budget and needs.
	SkipHostSetup bool
	// Routable says whether this machine reaches a VM's address directly
	// (default LocallyRoutable); otherwise the PVE host is the jump host.
	Routable func(netip.Addr) bool
	// BootTimeout bounds the wait for a new VM to answer SSH (default 15 min).
	BootTimeout time.Duration
	// WriteSnippet writes a Debian VM's user data (it holds the VM's
	// private host key) onto its PVE host (default WriteSnippetOverSSH).
	WriteSnippet SnippetWriter
	// VMAfter lists more steps a VM's create step waits for, by VM name
	// (Debian VMs reach the internet through the outer router: let them
	// wait for its configuration).
	VMAfter map[string][]string
	// ImageStorage is the directory storage of images and snippets
	// (default "local").
	ImageStorage string
}

// Set is the proxmox steps of one site: it shares pinned certificates,
// API connections and the VM key between them.
type Set struct {
	s        *site.Site
	stateDir string
	o        Options

	mu   sync.Mutex
	pins *Pins
	apis map[string]*API
	sec  map[string]string
}

// New returns the steps of site s; stateDir holds the pinned
// certificates and the VM key.
func New(s *site.Site, stateDir string, o Options) *Set {
	if o.Routable == nil {
		o.Routable = LocallyRoutable
	}
	if o.BootTimeout <= 0 {
		o.BootTimeout = 15 * time.Minute
	}
	if o.ImageStorage == "" {
		o.ImageStorage = "local"
	}
	if o.WriteSnippet == nil {
		o.WriteSnippet = WriteSnippetOverSSH
	}
	return &Set{s: s, stateDir: stateDir, o: o, pins: o.Pins, apis: map[string]*API{}, sec: map[string]string{}}
}

// Steps makes the VMs of the site on the PVE host pveHost (site.VM.On);
// the first steps come after needs (the PVE install).
func Steps(s *site.Site, stateDir, pveHost string, needs ...string) []engine.Step {
	return New(s, stateDir, Options{}).Steps(pveHost, needs...)
}

// TokenID is the API token's full ID.
const (
	UserID    = "collabstack@pve"
	TokenName = "collabstack"
	TokenID   = UserID + "!" + TokenName
	RoleID    = "CollabstackVM"
)

// Privileges are exactly those the steps use (a test proves each is
// needed against the simulator): creating VMs with their options, disks
// and NICs (cloud-init options need VM.Config.Cloudinit or
// VM.Config.Network: the latter is held anyway), starting them,
// snapshots and rollback, reading VMs, disk space on the storages,
// bridges (SDN.Use), and the node's memory for the budget.
var Privileges = []string{
	"Datastore.AllocateSpace",
	"SDN.Use",
	"Sys.Audit",
	"VM.Allocate",
	"VM.Audit",
	"VM.Config.CPU",
	"VM.Config.Disk",
	"VM.Config.HWType",
	"VM.Config.Memory",
	"VM.Config.Network",
	"VM.Config.Options",
	"VM.PowerMgmt",
	"VM.Snapshot",
}

// TokenSecret is the secret name of a PVE host's API token.
func TokenSecret(pveHost string) string { return "proxmox-token-" + pveHost }

func filterVMs(s *site.Site, pve string) []site.VM {
	var out []site.VM
	if s.Proxmox == nil {
		return nil
	}
	for _, vm := range s.Proxmox.VMs {
		if vm.On == pve {
			out = append(out, Sized(vm))
		}
	}
	return out
}

// API returns the connection to a PVE host's API, with the token from
// the secrets file.
func (x *Set) API(env *engine.Env, pveHost string) (*API, error) {
	return x.api(env.Secrets, pveHost, func() string {
		if env.Hosts != nil {
			if spec, ok := env.Hosts.Spec(pveHost); ok {
				return spec.Address
			}
		}
		return ""
	})
}

// api connects to pveHost; address gives the host's address when
// Options.APIURL does not name its API.
func (x *Set) api(sec *secrets.Store, pveHost string, address func() string) (*API, error) {
	if sec == nil {
		return nil, fmt.Errorf("no secrets store to read the API token of %s from", pveHost)
	}
	secret, ok := sec.Get(TokenSecret(pveHost))
	if !ok {
		return nil, engine.WithHint(fmt.Errorf("no API token for %s in the secrets file", pveHost),
			"run apply without --only so the token step makes one, or store one: `collabstack secret set %s`", TokenSecret(pveHost))
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if a := x.apis[pveHost]; a != nil && x.sec[pveHost] == secret {
		return a, nil
	}
	if err := x.openPinsLocked(); err != nil {
		return nil, err
	}
	url, err := x.apiURL(pveHost, address)
	if err != nil {
		return nil, err
	}
	a, err := Connect(Config{Host: pveHost, URL: url, TokenID: TokenID, Secret: secret, Pins: x.pins})
	if err != nil {
		return nil, err
	}
	x.apis[pveHost], x.sec[pveHost] = a, secret
	return a, nil
}

func (x *Set) openPinsLocked() error {
	if x.pins != nil {
		return nil
	}
	p, err := OpenPins(PinsFile(x.stateDir))
	if err != nil {
		return err
	}
	x.pins = p
	return nil
}

func (x *Set) apiURL(pveHost string, address func() string) (string, error) {
	if url := x.o.APIURL[pveHost]; url != "" {
		return url, nil
	}
	addr := address()
	if addr == "" {
		return "", fmt.Errorf("the PVE host %s has no address: set address: for it in the site file", pveHost)
	}
	return APIURL(addr), nil
}

// Steps returns the steps of the PVE host pveHost.
func (x *Set) Steps(pveHost string, needs ...string) []engine.Step {
	vms := filterVMs(x.s, pveHost)
	var steps []engine.Step
	after := func(ids ...string) []string { return append(append([]string{}, needs...), ids...) }
	var setup []string // what every VM waits for
	imageOf := map[string]string{}
	if !x.o.SkipHostSetup {
		steps = append(steps, x.tokenStep(pveHost, needs), x.bridgesStep(pveHost, vms, needs), x.storageStep(pveHost, needs))
		setup = append(setup, TokenStepID(pveHost), BridgesID(pveHost), StorageID(pveHost))
		kinds := map[string]bool{}
		for _, vm := range vms {
			if vm.Kind == site.VMOpenWrt {
				kinds[site.VMOpenWrt] = true
			} else {
				kinds[site.VMDebian] = true
			}
		}
		for _, kind := range []string{site.VMDebian, site.VMOpenWrt} {
			if kinds[kind] {
				steps = append(steps, x.imageStep(pveHost, kind, after(StorageID(pveHost))))
			}
		}
		for _, vm := range vms {
			switch vm.Kind {
			case site.VMOpenWrt:
				steps = append(steps, x.openWrtImageStep(pveHost, vm, []string{ImageID(pveHost, site.VMOpenWrt), TokenStepID(pveHost)}))
				imageOf[vm.Name] = VMStepID(vm.Name, "image")
			default:
				imageOf[vm.Name] = ImageID(pveHost, site.VMDebian)
			}
		}
		steps = append(steps, x.budgetStep(pveHost, vms, []string{TokenStepID(pveHost)}))
	} else {
		steps = append(steps, x.budgetStep(pveHost, vms, needs))
	}
	setup = append(setup, BudgetID(pveHost))
	for _, vm := range vms {
		deps := append([]string{}, setup...)
		if id := imageOf[vm.Name]; id != "" {
			deps = append(deps, id)
		}
		deps = append(deps, x.o.VMAfter[vm.Name]...)
		steps = append(steps, x.vmSteps(pveHost, vm, deps)...)
	}
	return steps
}

// SiteHosts returns the VMs of the site as hosts, so the plan can give
// them the steps of their role (prepare, swarm, routers): address, login
// user and key, and the PVE host as jump host when this machine has no
// route to them.
func (x *Set) SiteHosts() []site.Host {
	var out []site.Host
	if x.s.Proxmox == nil {
		return nil
	}
	for _, vm := range x.s.Proxmox.VMs {
		spec, err := x.hostSpec(vm)
		if err != nil {
			continue
		}
		sudo := spec.User != "root"
		out = append(out, site.Host{
			Name: vm.Name, Address: spec.Address, Port: spec.Port, User: spec.User,
			Auth: site.Auth{Method: site.AuthKey, KeyFile: spec.KeyFile},
			Sudo: &sudo, Role: vm.Role, Labels: vm.Labels, Jump: spec.Jump,
		})
	}
	return out
}

// loginUser is who collabstack logs in to a VM as: root on OpenWrt, the
// site's admin user (made by cloud-init, sudo without password) on Debian.
func (x *Set) loginUser(vm site.VM) string {
	if vm.Kind == site.VMOpenWrt {
		return "root"
	}
	if u := x.s.Prepare.AdminUser; u != "" {
		return u
	}
	return site.DefaultAdminUser
}

// hostSpec is how the plan reaches a VM.
func (x *Set) hostSpec(vm site.VM) (host.Spec, error) {
	p, err := netip.ParsePrefix(vm.Address)
	if err != nil {
		return host.Spec{}, engine.WithHint(fmt.Errorf("VM %s has no address (%q)", vm.Name, vm.Address), "give it one on the LAN in the site file: proxmox.vms[].address, for example 10.10.0.21/24")
	}
	spec := host.Spec{Name: vm.Name, Address: p.Addr().String(), Port: 22, User: x.loginUser(vm), KeyFile: KeyPath(x.stateDir)}
	if !x.o.Routable(p.Addr()) {
		spec.Jump = vm.On
	}
	return spec, nil
}

// lanAddress is the PVE host's address on the LAN bridge: the last
// addresses of the LAN, one per PVE host in site order (.254, .253, ...).
func (x *Set) lanAddress(pveHost string) string {
	n := x.s.Network
	if n == nil {
		return ""
	}
	p, err := netip.ParsePrefix(n.LAN)
	if err != nil || !p.Addr().Is4() {
		return ""
	}
	i := 0
	for _, h := range x.s.Hosts {
		if h.Role == site.RolePVERouter || h.Role == site.RolePVEServer {
			if h.Name == pveHost {
				break
			}
			i++
		}
	}
	p = p.Masked()
	a := p.Addr().As4()
	size := uint32(1) << (32 - p.Bits())
	base := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	ip := base + size - 2 - uint32(i)
	addr := netip.AddrFrom4([4]byte{byte(ip >> 24), byte(ip >> 16), byte(ip >> 8), byte(ip)})
	if !p.Contains(addr) || addr == p.Addr() {
		return ""
	}
	return netip.PrefixFrom(addr, p.Bits()).String()
}

// spec is what the create step makes of a site VM.
func (x *Set) spec(env *engine.Env, vm site.VM) (VMSpec, error) {
	sp := VMSpec{VM: vm, Site: x.s.Name, Storage: "local-lvm"}
	if x.s.Proxmox != nil && x.s.Proxmox.Storage != "" {
		sp.Storage = x.s.Proxmox.Storage
	}
	if n := x.s.Network; n != nil {
		sp.LANBridge, sp.Gateway = n.LANBridge, n.Gateway
		sp.MAC = network.VMMAC(x.s, vm.Name)
	}
	switch vm.Kind {
	case site.VMOpenWrt:
		sp.Image = x.o.ImageStorage + ":import/" + openWrtDisk(vm.Name)
	default:
		imgs, err := PinnedImages()
		if err != nil {
			return sp, err
		}
		sp.Image = x.o.ImageStorage + ":import/" + imgs.Debian.File
		key, err := EnsureKey(KeyPath(x.stateDir))
		if err != nil {
			return sp, err
		}
		ci := &CloudInitSpec{User: x.loginUser(vm), Key: key, Vendor: x.o.ImageStorage + ":snippets/" + VendorSnippet,
			UserData: x.o.ImageStorage + ":snippets/" + UserDataSnippet(vm.Name)}
		if sp.Gateway != "" {
			ci.Nameservers = []string{sp.Gateway}
		}
		sp.CloudInit = ci
	}
	return sp, nil
}

func (x *Set) vmSteps(pveHost string, vm site.VM, deps []string) []engine.Step {
	name := vm.Name
	find := func(ctx context.Context, env *engine.Env) (*API, *VMRef, error) {
		a, err := x.API(env, pveHost)
		if err != nil {
			return nil, nil, err
		}
		ref, err := a.FindVM(ctx, name)
		return a, ref, err
	}
	create := &engine.Func{
		StepID: CreateID(name), Name: fmt.Sprintf("Create VM %s on %s (%d cores, %d MB, %d GB)", name, pveHost, vm.Cores, vm.MemoryMB, vm.DiskGB),
		On: pveHost, Needs: deps, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			_, ref, err := find(ctx, env)
			if ref != nil {
				env.Logf("%s is VM %d on node %s", name, ref.ID, ref.Node)
			}
			return ref != nil, err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			a, ref, err := find(ctx, env)
			if err != nil || ref != nil {
				return err
			}
			sp, err := x.spec(env, vm)
			if err != nil {
				return err
			}
			if ci := sp.CloudInit; ci != nil && ci.UserData != "" {
				// A new host key for every VM made: it replaces the pin
				// of a VM of that name made before (see register).
				data, err := x.issueUserData(name, ci.User, ci.Key)
				if err != nil {
					return err
				}
				if err := x.o.WriteSnippet(ctx, env, pveHost, ci.UserData, data); err != nil {
					return err
				}
				env.Logf("gave %s the host key %s through cloud-init", name, HostKeyFingerprint(x.stateDir, name))
			}
			if _, err := a.Create(ctx, sp, env.Logf); err != nil {
				return err
			}
			return nil
		},
	}
	start := &engine.Func{
		StepID: VMStepID(name, "start"), Name: "Start VM " + name, On: pveHost, Needs: []string{create.StepID}, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			a, ref, err := find(ctx, env)
			if err != nil || ref == nil {
				return false, err
			}
			st, err := a.Status(ctx, ref)
			return st == "running", err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			a, ref, err := find(ctx, env)
			if err != nil {
				return err
			}
			if ref == nil {
				return fmt.Errorf("VM %s is not on %s: its create step makes it", name, pveHost)
			}
			return a.Start(ctx, ref)
		},
	}
	boot := &engine.Func{
		StepID: VMStepID(name, "boot"), Name: "Wait for VM " + name + " to answer SSH", Needs: []string{start.StepID}, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			if err := x.register(env, vm); err != nil {
				return false, err
			}
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			return x.answers(ctx, env, name) == nil, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			if err := x.register(env, vm); err != nil {
				return err
			}
			return x.waitBoot(ctx, env, vm)
		},
	}
	ready := x.snapshotStep(pveHost, name, "ready", []string{boot.StepID})
	ready.StepID = ReadyID(name)
	ready.Name = "Take the first snapshot of " + name
	return []engine.Step{create, start, boot, ready}
}

// register makes the VM a host of the plan.
func (x *Set) register(env *engine.Env, vm site.VM) error {
	spec, err := x.hostSpec(vm)
	if err != nil {
		return err
	}
	// collabstack made the VM's host key and gave it to the VM (cloud-init,
	// the first-boot script): the VM must offer exactly that key, even
	// on the first connection, and that key replaces the pin of a VM of
	// the name made before. A VM without such a key (made before
	// collabstack issued keys, or a state directory that lost them) is
	// refused as unknown unless --accept-new-host-keys.
	if fp := HostKeyFingerprint(x.stateDir, vm.Name); fp != "" {
		spec.HostKey, spec.HostKeyIssued = fp, true
	}
	if env.Hosts != nil {
		env.Hosts.Register(spec)
	}
	return nil
}

// answers connects to the VM and runs a command.
func (x *Set) answers(ctx context.Context, env *engine.Env, name string) error {
	if env.Hosts == nil {
		return fmt.Errorf("no inventory to reach %s through", name)
	}
	h, err := env.Hosts.Get(ctx, name)
	if err != nil {
		return err
	}
	_, err = h.Run(ctx, "true", host.RunOpts{})
	return err
}

func (x *Set) waitBoot(ctx context.Context, env *engine.Env, vm site.VM) error {
	deadline := time.Now().Add(x.o.BootTimeout)
	var last error
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := x.answers(actx, env, vm.Name)
		cancel()
		if err == nil {
			env.Logf("%s answers over SSH", vm.Name)
			return nil
		}
		if errors.Is(err, host.ErrHostKeyChanged) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if last == nil || attempt%10 == 0 {
			env.Logf("waiting for %s: %v", vm.Name, firstLine(err))
		}
		last = err
		if time.Now().After(deadline) {
			spec, _ := x.hostSpec(vm)
			via := "directly"
			if spec.Jump != "" {
				via = "through " + spec.Jump
			}
			return engine.WithHint(fmt.Errorf("VM %s did not answer SSH at %s (%s) within %s: %w", vm.Name, spec.Address, via, x.o.BootTimeout, last),
				"open its console in the PVE web interface (or `qm terminal` on %s) and look at the boot: cloud-init must set %s and the key", vm.On, vm.Address)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// snapshotStep takes the snapshot SnapshotName(label) of a VM unless it
// has it.
func (x *Set) snapshotStep(pveHost, vmName, label string, needs []string) *engine.Func {
	snap := SnapshotName(label)
	find := func(ctx context.Context, env *engine.Env) (*API, *VMRef, error) {
		a, err := x.API(env, pveHost)
		if err != nil {
			return nil, nil, err
		}
		ref, err := a.FindVM(ctx, vmName)
		if err == nil && ref == nil {
			err = fmt.Errorf("VM %s is not on %s: its create step makes it", vmName, pveHost)
		}
		return a, ref, err
	}
	return &engine.Func{
		StepID: SnapshotID(vmName, label), Name: fmt.Sprintf("Snapshot %s (%s)", vmName, snap), On: pveHost, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			a, ref, err := find(ctx, env)
			if err != nil {
				return false, err
			}
			return a.HasSnapshot(ctx, ref, snap)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			a, ref, err := find(ctx, env)
			if err != nil {
				return err
			}
			return a.Snapshot(ctx, ref, snap, "taken by collabstack before "+label)
		},
	}
}

// SnapshotStep takes the snapshot collabstack-<label> of the VM called
// vmName before a risky step: give its ID (SnapshotID(vmName, label)) to
// the risky step's needs. It comes after ReadyID(vmName) and needs.
func (x *Set) SnapshotStep(vmName, label string, needs ...string) engine.Step {
	vm, _ := SiteVM(x.s, vmName)
	return x.snapshotStep(vm.On, vmName, label, append([]string{ReadyID(vmName)}, needs...))
}

// VMNames lists the site's VMs on a PVE host.
func VMNames(s *site.Site, pveHost string) []string {
	var out []string
	for _, vm := range filterVMs(s, pveHost) {
		out = append(out, vm.Name)
	}
	return out
}
