package proxmox

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	px "github.com/luthermonson/go-proxmox"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// SnapshotPrefix starts the name of every snapshot collabstack takes;
// Rollback only ever returns to one of these.
const SnapshotPrefix = "collabstack-"

var snapUnsafe = regexp.MustCompile(`[^a-z0-9_-]+`)

// SnapshotName is the snapshot taken before the step called label
// ("collabstack-before-uci"): a PVE config ID, at most 40 characters.
func SnapshotName(label string) string {
	l := strings.Trim(snapUnsafe.ReplaceAllString(strings.ToLower(label), "-"), "-")
	name := SnapshotPrefix + l
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	return name
}

// Snapshots lists a VM's snapshots (without PVE's "current" entry),
// oldest first.
func (a *API) Snapshots(ctx context.Context, ref *VMRef) ([]*px.VirtualMachineSnapshot, error) {
	var snaps []*px.VirtualMachineSnapshot
	if err := a.do(ctx, "list the snapshots of "+ref.Name, func(ctx context.Context) error {
		var err error
		snaps, err = a.handle(ref).Snapshots(ctx)
		return err
	}); err != nil {
		return nil, err
	}
	out := snaps[:0]
	for _, s := range snaps {
		if s.Name != "current" {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Snaptime < out[j].Snaptime })
	return out, nil
}

// HasSnapshot reports whether the VM has a snapshot called name.
func (a *API) HasSnapshot(ctx context.Context, ref *VMRef, name string) (bool, error) {
	snaps, err := a.Snapshots(ctx, ref)
	if err != nil {
		return false, err
	}
	for _, s := range snaps {
		if s.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// Snapshot takes a disk snapshot of the VM (without RAM; the guest agent
// freezes the file systems when it runs) and waits for it.
func (a *API) Snapshot(ctx context.Context, ref *VMRef, name, description string) error {
	var upid px.UPID
	what := fmt.Sprintf("snapshot %s as %s", ref.Name, name)
	if err := a.do(ctx, what, func(ctx context.Context) error {
		return a.client.Post(ctx, fmt.Sprintf("/nodes/%s/qemu/%d/snapshot", ref.Node, ref.ID),
			map[string]any{"snapname": name, "description": description}, &upid)
	}); err != nil {
		return err
	}
	return a.wait(ctx, px.NewTask(upid, a.client), what)
}

// RollbackTo returns the VM to the snapshot name. PVE stops a running VM
// for that; with start it is started again. Disks attached after the
// snapshot stay on the storage as unused disks: nothing is deleted.
func (a *API) RollbackTo(ctx context.Context, ref *VMRef, name string, start bool) error {
	var upid px.UPID
	what := fmt.Sprintf("roll %s back to %s", ref.Name, name)
	params := map[string]any{}
	if start {
		params["start"] = 1
	}
	if err := a.do(ctx, what, func(ctx context.Context) error {
		return a.client.Post(ctx, fmt.Sprintf("/nodes/%s/qemu/%d/snapshot/%s/rollback", ref.Node, ref.ID, name), params, &upid)
	}); err != nil {
		return err
	}
	return a.wait(ctx, px.NewTask(upid, a.client), what)
}

// LastSnapshot is the newest collabstack snapshot of the VM ("" if none).
func (a *API) LastSnapshot(ctx context.Context, ref *VMRef) (string, error) {
	snaps, err := a.Snapshots(ctx, ref)
	if err != nil {
		return "", err
	}
	last := ""
	for _, s := range snaps {
		if strings.HasPrefix(s.Name, SnapshotPrefix) {
			last = s.Name
		}
	}
	return last, nil
}

// RollbackVM returns the VM called vmName to its last collabstack
// snapshot, started again when it was running, and says which snapshot
// that was. It deletes nothing: no VM, no disk, no snapshot.
func (a *API) RollbackVM(ctx context.Context, vmName string, logf func(string, ...any)) (string, error) {
	ref, err := a.FindVM(ctx, vmName)
	if err != nil {
		return "", err
	}
	if ref == nil {
		return "", engine.WithHint(fmt.Errorf("no VM called %s tagged %s on %s", vmName, Tag, a.Host), "`collabstack status` lists the VMs; only VMs collabstack made can be rolled back")
	}
	last, err := a.LastSnapshot(ctx, ref)
	if err != nil {
		return "", err
	}
	if last == "" {
		return "", engine.WithHint(fmt.Errorf("%s (VM %d) has no collabstack snapshot", vmName, ref.ID), "snapshots are taken once the VM first answers and before risky steps; there is nothing to return to yet")
	}
	status, err := a.Status(ctx, ref)
	if err != nil {
		return "", err
	}
	logf("rolling %s (VM %d on %s) back to %s", vmName, ref.ID, ref.Node, last)
	if err := a.RollbackTo(ctx, ref, last, status == "running"); err != nil {
		return "", err
	}
	return last, nil
}

// Rollback returns the VM called vmName of the site to its last
// collabstack snapshot: the `collabstack rollback VM` command. It reads
// the token from sec and the pinned certificates from stateDir, says
// which snapshot it went back to, and deletes nothing.
func Rollback(ctx context.Context, s *site.Site, stateDir string, sec *secrets.Store, vmName string, logf func(string, ...any)) (string, error) {
	return New(s, stateDir, Options{}).Rollback(ctx, sec, vmName, logf)
}

// Rollback is the package's Rollback with the set's options.
func (x *Set) Rollback(ctx context.Context, sec *secrets.Store, vmName string, logf func(string, ...any)) (string, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	vm, ok := SiteVM(x.s, vmName)
	if !ok {
		var names []string
		if x.s.Proxmox != nil {
			for _, v := range x.s.Proxmox.VMs {
				names = append(names, v.Name)
			}
		}
		return "", engine.WithHint(fmt.Errorf("the site has no VM called %s", vmName), "the site's VMs: %s", strings.Join(names, ", "))
	}
	a, err := x.api(sec, vm.On, func() string {
		for _, h := range x.s.Hosts {
			if h.Name == vm.On {
				return h.Address
			}
		}
		return ""
	})
	if err != nil {
		return "", err
	}
	return a.RollbackVM(ctx, vmName, logf)
}

// SiteVM returns the VM of the site called name.
func SiteVM(s *site.Site, name string) (site.VM, bool) {
	if s.Proxmox == nil {
		return site.VM{}, false
	}
	for _, vm := range s.Proxmox.VMs {
		if vm.Name == name {
			return vm, true
		}
	}
	return site.VM{}, false
}
