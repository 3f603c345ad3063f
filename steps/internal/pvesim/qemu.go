package pvesim

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// VM is a snapshot of a simulated VM for tests and hooks.
type VM struct {
	ID     int
	Name   string
	Node   string
	Status string // running, stopped
	// Config is the VM's configuration as PVE stores it (values as
	// strings, sshkeys still urlencoded).
	Config map[string]string
	// Snapshots are the snapshot names, oldest first.
	Snapshots []string
	// UserData is the content of the VM's custom user data snippet
	// (cicustom user=), nil when it has none or it was not put with
	// PutSnippet.
	UserData []byte
}

type vmState struct {
	id      int
	conf    map[string]string
	status  string
	started time.Time
	pid     int
	lock    string
	parent  string
	snaps   map[string]*snapState
}

type snapState struct {
	name, desc, parent string
	time               int64
	vmstate            bool
	conf               map[string]string
}

func (v *vmState) view(node string) VM {
	out := VM{ID: v.id, Name: v.conf["name"], Node: node, Status: v.status, Config: copyConf(v.conf)}
	var snaps []*snapState
	for _, sn := range v.snaps {
		snaps = append(snaps, sn)
	}
	sort.Slice(snaps, func(i, j int) bool {
		if snaps[i].time != snaps[j].time {
			return snaps[i].time < snaps[j].time
		}
		return snaps[i].name < snaps[j].name
	})
	for _, sn := range snaps {
		out.Snapshots = append(out.Snapshots, sn.name)
	}
	return out
}

// viewLocked is the VM as tests see it, with the content of its custom
// user data snippet (cicustom user=) when the snippet was put.
func (s *Server) viewLocked(v *vmState) VM {
	out := v.view(s.opts.Node)
	for _, part := range strings.Split(v.conf["cicustom"], ",") {
		if vol, ok := strings.CutPrefix(part, "user="); ok {
			if data, ok := s.snippets[vol]; ok {
				out.UserData = append([]byte(nil), data...)
			}
		}
	}
	return out
}

// DeleteVM removes the VM called name, as someone removing it in the web
// interface would (the simulator has no DELETE endpoint: collabstack never
// deletes VMs). The OnStop hook runs when it is running.
func (s *Server) DeleteVM(ctx context.Context, name string) error {
	s.mu.Lock()
	var id int
	for vid, v := range s.vms {
		if v.conf["name"] == name {
			id = vid
		}
	}
	s.mu.Unlock()
	if id == 0 {
		return fmt.Errorf("no VM called %s", name)
	}
	if err := s.stopVM(ctx, id); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.vms, id)
	s.mu.Unlock()
	return nil
}

func copyConf(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// VMs lists the VMs, by ID.
func (s *Server) VMs() []VM {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for id := range s.vms {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	var out []VM
	for _, id := range ids {
		out = append(out, s.viewLocked(s.vms[id]))
	}
	return out
}

// VMByName returns the VM called name.
func (s *Server) VMByName(name string) (VM, bool) {
	for _, v := range s.VMs() {
		if v.Name == name {
			return v, true
		}
	}
	return VM{}, false
}

var (
	driveRE   = regexp.MustCompile(`^(ide|scsi|sata|virtio)\d+$|^efidisk0$|^tpmstate0$`)
	newDiskRE = regexp.MustCompile(`^(([^/:\s]+):)?(\d+(\.\d+)?)$`)
)

func isDrive(k string) bool { return driveRE.MatchString(k) }

// Option groups of qemu-server's check_vm_modify_config_perm.
var (
	cpuOptions     = set("cores", "cpu", "runningcpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus")
	memoryOptions  = set("memory", "balloon", "shares", "allow-ksm")
	hwtypeOptions  = set("acpi", "hotplug", "kvm", "machine", "runningmachine", "scsihw", "smbios1", "tablet", "vga", "watchdog", "audio0", "rng0")
	generalOptions = set("agent", "autostart", "bios", "description", "keyboard", "localtime", "migrate_downtime", "migrate_speed", "name", "onboot", "ostype", "protection", "reboot", "startdate", "startup", "tdf", "template")
	diskOptions    = set("boot", "bootdisk", "vmstatestorage")
	cloudOptions   = set("cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain", "sshkeys")
	ipconfigRE     = regexp.MustCompile(`^ipconfig\d+$`)
	netRE          = regexp.MustCompile(`^net\d+$`)
	skipPermRE     = regexp.MustCompile(`^(unused|serial|usb|hostpci|virtiofs)\d+$`)
)

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

// modifyConfigPerm is qemu-server's check_vm_modify_config_perm.
func (c *call) modifyConfigPerm(vmid int, keys []string) *apiError {
	path := fmt.Sprintf("/vms/%d", vmid)
	for _, k := range keys {
		if isDrive(k) || k == "cdrom" || skipPermRE.MatchString(k) || k == "tags" {
			continue
		}
		var e *apiError
		switch {
		case cpuOptions[k] || strings.HasPrefix(k, "numa"):
			e = c.check(path, []string{"VM.Config.CPU"}, false)
		case memoryOptions[k]:
			e = c.check(path, []string{"VM.Config.Memory"}, false)
		case hwtypeOptions[k]:
			e = c.check(path, []string{"VM.Config.HWType"}, false)
		case generalOptions[k]:
			e = c.check(path, []string{"VM.Config.Options"}, false)
			if e == nil && k == "startup" {
				e = c.check("/", []string{"Sys.Modify"}, false)
			}
		case k == "freeze":
			e = c.check(path, []string{"VM.PowerMgmt"}, false)
		case diskOptions[k]:
			e = c.check(path, []string{"VM.Config.Disk"}, false)
		case netRE.MatchString(k):
			e = c.check(path, []string{"VM.Config.Network"}, false)
		case cloudOptions[k] || ipconfigRE.MatchString(k):
			e = c.check(path, []string{"VM.Config.Cloudinit", "VM.Config.Network"}, true)
		default:
			if !c.tok.root {
				e = errServer("only root can set '%s' config", k)
			}
		}
		if e != nil {
			return e
		}
	}
	return nil
}

// volumeAccess is pve-storage's check_volume_access for a volume ID or
// a path.
func (c *call) volumeAccess(volid string) *apiError {
	sid, name, ok := strings.Cut(volid, ":")
	if !ok || strings.HasPrefix(volid, "/") {
		if !c.tok.root {
			return errServer("Only root can pass arbitrary filesystem paths.")
		}
		return nil
	}
	if c.tok.root {
		return nil
	}
	vtype := volumeType(name)
	switch vtype {
	case "iso", "vztmpl", "import":
		return c.check("/storage/"+sid, []string{"Datastore.AllocateSpace", "Datastore.Audit"}, true)
	case "images":
		if e := c.check("/storage/"+sid, []string{"Datastore.Audit"}, false); e != nil {
			return e
		}
		if id := ownerOf(name); id > 0 {
			return c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.Config.Disk"}, false)
		}
	}
	return errServer("missing privileges to access %s", volid)
}

func volumeType(name string) string {
	if dir, _, ok := strings.Cut(name, "/"); ok {
		switch dir {
		case "iso", "vztmpl", "import", "snippets", "backup":
			return dir
		}
	}
	return "images"
}

func ownerOf(name string) int {
	m := regexp.MustCompile(`(?:^|/)(?:vm|base)-(\d+)-`).FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	id, _ := strconv.Atoi(m[1])
	return id
}

func (s *Server) qemuSchema() *endpoint { return s.schema.Endpoints["POST /nodes/{node}/qemu"] }

func (s *Server) parseDrive(k, v string) (*propertyString, *apiError) {
	p, _ := s.qemuSchema().lookup(k)
	ps, msg := parsePropertyString(p.Sub, v)
	if msg != "" {
		return nil, errParam(k, "invalid format - "+msg)
	}
	return ps, nil
}

func (s *Server) parseNet(k, v string) *propertyString {
	p, _ := s.qemuSchema().lookup(k)
	ps, _ := parsePropertyString(p.Sub, v)
	return ps
}

func (s *Server) createVM(c *call) (any, *apiError) {
	p := copyConf(c.params)
	vmid, _ := strconv.Atoi(p["vmid"])
	delete(p, "vmid")
	delete(p, "node")
	for _, k := range []string{"archive", "pool", "ha-managed", "live-restore", "force", "unique", "bwlimit", "import-working-storage"} {
		if _, ok := p[k]; ok {
			return nil, &apiError{code: 501, msg: "pvesim: option '" + k + "' of create is not simulated"}
		}
	}
	startAfter := boolOf(p["start"])
	delete(p, "start")
	defStorage := p["storage"]
	delete(p, "storage")
	path := fmt.Sprintf("/vms/%d", vmid)

	if keys, ok := p["sshkeys"]; ok {
		for _, line := range strings.Split(unescape(keys), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line)); err != nil {
				return nil, errServer("SSH public key validation error")
			}
		}
	}
	if defStorage != "" {
		if e := c.check("/storage/"+defStorage, []string{"Datastore.AllocateSpace"}, false); e != nil {
			return nil, e
		}
	}
	if startAfter {
		if e := c.check(path, []string{"VM.PowerMgmt"}, false); e != nil {
			return nil, e
		}
	}
	if e := c.check(path, []string{"VM.Allocate"}, false); e != nil {
		return nil, e
	}
	keys := sortedKeys(p)
	// check_storage_access
	for _, k := range keys {
		if !isDrive(k) {
			continue
		}
		d, e := s.parseDrive(k, p[k])
		if e != nil {
			return nil, e
		}
		file := d.get("file")
		sid, volname, hasSID := strings.Cut(file, ":")
		switch {
		case file == "none" || file == "cloudinit" || (hasSID && volname == "cloudinit"):
		case newDiskRE.MatchString(file):
			m := newDiskRE.FindStringSubmatch(file)
			sid := m[2]
			if sid == "" {
				sid = defStorage
			}
			if sid == "" {
				return nil, errServer("no storage ID specified (and no default storage)")
			}
			if e := c.check("/storage/"+sid, []string{"Datastore.AllocateSpace"}, false); e != nil {
				return nil, e
			}
			st, ok := s.storage(sid)
			if !ok {
				return nil, errServer("storage '%s' does not exist", sid)
			}
			if !st.has("images") {
				return nil, errParam("storage", fmt.Sprintf("storage '%s' does not support vm images", sid))
			}
		default:
			if e := c.volumeAccess(file); e != nil {
				return nil, e
			}
			if hasSID {
				if vt := volumeType(volname); vt != "images" && vt != "iso" {
					return nil, errParam(k, "content type needs to be 'images' or 'iso'")
				}
			}
			_ = sid
		}
		if src := d.get("import-from"); src != "" {
			if ssid, sname, ok := strings.Cut(src, ":"); ok && !strings.HasPrefix(src, "/") {
				if vt := volumeType(sname); vt != "images" && vt != "import" {
					return nil, errParam(k, fmt.Sprintf("%s has wrong type '%s' - needs to be 'images' or 'import'", src, vt))
				}
				if _, ok := s.storage(ssid); !ok {
					return nil, errServer("storage '%s' does not exist", ssid)
				}
			}
			if e := c.volumeAccess(src); e != nil {
				return nil, e
			}
		}
	}
	if e := c.modifyConfigPerm(vmid, keys); e != nil {
		return nil, e
	}
	for _, k := range keys {
		if strings.HasPrefix(k, "serial") {
			if p[k] == "socket" {
				if e := c.check(path, []string{"VM.Config.HWType"}, false); e != nil {
					return nil, e
				}
			} else if !c.tok.root {
				return nil, errServer("only root can set '%s' config for real devices", k)
			}
		}
	}
	for _, k := range keys {
		if !netRE.MatchString(k) {
			continue
		}
		if br := s.parseNet(k, p[k]).get("bridge"); br != "" {
			if e := c.check("/sdn/zones/localnetwork/"+br, []string{"SDN.Use"}, false); e != nil {
				return nil, e
			}
		}
	}
	if tags, ok := p["tags"]; ok && tags != "" {
		if e := c.check(path, []string{"VM.Config.Options"}, false); e != nil {
			return nil, e
		}
	}

	s.mu.Lock()
	if _, exists := s.vms[vmid]; exists {
		s.mu.Unlock()
		return nil, errServer("unable to create VM %d - VM %d already exists on node '%s'", vmid, vmid, s.opts.Node)
	}
	v := &vmState{id: vmid, conf: map[string]string{}, status: "stopped", lock: "create", snaps: map[string]*snapState{}}
	s.vms[vmid] = v
	s.mu.Unlock()

	upid, e := s.startTask(c, "qmcreate", strconv.Itoa(vmid), func(ctx context.Context, logf func(string, ...any)) error {
		conf, vols, err := s.buildConfig(vmid, p, defStorage, logf)
		if err != nil {
			s.mu.Lock()
			for _, vol := range vols {
				delete(s.volumes, vol)
			}
			delete(s.vms, vmid)
			s.mu.Unlock()
			return fmt.Errorf("unable to create VM %d - %v", vmid, err)
		}
		s.mu.Lock()
		v.conf = conf
		v.lock = ""
		s.mu.Unlock()
		if startAfter {
			logf("Execute autostart")
			if err := s.startVM(ctx, vmid, logf); err != nil {
				logf("%v", err)
			}
		}
		return nil
	})
	if e != nil {
		return nil, e
	}
	return upid, nil
}

// buildConfig is the worker part of create_vm: disks, MACs, defaults.
func (s *Server) buildConfig(vmid int, p map[string]string, defStorage string, logf func(string, ...any)) (map[string]string, []string, error) {
	conf := map[string]string{}
	var vols []string
	alloc := func(volid string, size int64) {
		s.mu.Lock()
		s.volumes[volid] = size
		s.mu.Unlock()
		vols = append(vols, volid)
	}
	diskN := 0
	for _, k := range sortedKeys(p) {
		v := p[k]
		switch {
		case isDrive(k):
			d, e := s.parseDrive(k, v)
			if e != nil {
				return nil, vols, e
			}
			file := d.get("file")
			sid, volname, _ := strings.Cut(file, ":")
			switch {
			case volname == "cloudinit" || file == "cloudinit":
				if sid == "cloudinit" || sid == "" {
					sid = defStorage
				}
				st, _ := s.storage(sid)
				volid := fmt.Sprintf("%s:vm-%d-cloudinit", sid, vmid)
				if st.Type == "dir" {
					volid = fmt.Sprintf("%s:%d/vm-%d-cloudinit.qcow2", sid, vmid, vmid)
				}
				alloc(volid, 4<<20)
				d.set("file", volid)
				d.set("media", "cdrom")
				conf[k] = d.print("file")
				logf("%s: successfully created disk '%s'", k, conf[k])
			case newDiskRE.MatchString(file):
				m := newDiskRE.FindStringSubmatch(file)
				if m[2] != "" {
					sid = m[2]
				} else {
					sid = defStorage
				}
				gib, _ := strconv.ParseFloat(m[3], 64)
				size := int64(gib * (1 << 30))
				if src := d.get("import-from"); src != "" {
					s.mu.Lock()
					srcSize, ok := s.volumes[src]
					s.mu.Unlock()
					if !ok {
						return nil, vols, fmt.Errorf("cannot import from '%s' - volume '%s' does not exist", src, src)
					}
					size = srcSize
					d.del("import-from")
					logf("importing disk '%s' to VM %d ...", src, vmid)
				}
				volid := fmt.Sprintf("%s:vm-%d-disk-%d", sid, vmid, diskN)
				diskN++
				alloc(volid, size)
				d.set("file", volid)
				d.set("size", formatSize(size))
				conf[k] = d.print("file")
				logf("%s: successfully created disk '%s'", k, conf[k])
			default:
				s.mu.Lock()
				size, ok := s.volumes[file]
				s.mu.Unlock()
				if !ok && file != "none" && file != "cdrom" {
					return nil, vols, fmt.Errorf("volume %s does not exist", file)
				}
				if ok {
					d.set("size", formatSize(size))
				}
				conf[k] = d.print("file")
			}
		case netRE.MatchString(k):
			n := s.parseNet(k, v)
			if n.get("macaddr") == "" {
				n.set("macaddr", randomMAC())
			}
			parts := []string{n.get("model") + "=" + n.get("macaddr")}
			for _, key := range n.keys {
				if key != "model" && key != "macaddr" {
					parts = append(parts, key+"="+n.get(key))
				}
			}
			conf[k] = strings.Join(parts, ",")
		case k == "tags":
			seen := map[string]bool{}
			var tags []string
			for _, t := range splitList(v) {
				t = strings.ToLower(t)
				if !seen[t] {
					seen[t] = true
					tags = append(tags, t)
				}
			}
			sort.Strings(tags)
			conf[k] = strings.Join(tags, ";")
		default:
			conf[k] = v
		}
	}
	if conf["boot"] == "" {
		conf["boot"] = defaultBoot(conf)
	}
	if conf["smbios1"] == "" {
		conf["smbios1"] = "uuid=" + uuid()
	}
	if conf["vmgenid"] == "" || conf["vmgenid"] == "1" {
		conf["vmgenid"] = uuid()
	}
	conf["meta"] = fmt.Sprintf("creation-qemu=9.2.0,ctime=%d", time.Now().Unix())
	return conf, vols, nil
}

func defaultBoot(conf map[string]string) string {
	var disks, cds, nets []string
	for _, k := range sortedKeys(conf) {
		switch {
		case isDrive(k) && strings.Contains(conf[k], "media=cdrom"):
			cds = append(cds, k)
		case isDrive(k) && k != "efidisk0" && k != "tpmstate0":
			disks = append(disks, k)
		case netRE.MatchString(k):
			nets = append(nets, k)
		}
	}
	order := append(disks, cds...)
	if len(nets) > 0 {
		order = append(order, nets[0])
	}
	return "order=" + strings.Join(order, ";")
}

func randomMAC() string {
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2])
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// formatSize prints a size as PVE's format_size does (2G, 3584M, 4M).
func formatSize(b int64) string {
	for _, u := range []struct {
		n int64
		s string
	}{{1 << 40, "T"}, {1 << 30, "G"}, {1 << 20, "M"}, {1 << 10, "K"}} {
		if b >= u.n && b%u.n == 0 {
			return fmt.Sprintf("%d%s", b/u.n, u.s)
		}
	}
	return strconv.FormatInt(b, 10)
}

// parseSize reads 2G, 3584M, 10 (bytes), 1.5G.
func parseSize(v string) (int64, bool) {
	if v == "" {
		return 0, false
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
	num := v
	if mult != 1 {
		num = v[:len(v)-1]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, false
	}
	return int64(f * float64(mult)), true
}

func memBytes(v string) uint64 {
	if v == "" {
		return 512 << 20
	}
	v = strings.TrimPrefix(strings.Split(v, ",")[0], "current=")
	n, _ := strconv.ParseUint(v, 10, 64)
	return n << 20
}

func (s *Server) vm(c *call) (*vmState, *apiError) {
	id := c.vmid()
	v, ok := s.vms[id]
	if !ok {
		return nil, errServer("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", s.opts.Node, id)
	}
	return v, nil
}

func (s *Server) listVMs(c *call) (any, *apiError) {
	s.mu.Lock()
	var ids []int
	for id := range s.vms {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Ints(ids)
	out := []map[string]any{}
	for _, id := range ids {
		if !c.tok.root {
			c.s.mu.Lock()
			ok := c.tok.privs["VM.Audit"]
			if ok {
				c.s.used["VM.Audit"] = true
			}
			c.s.mu.Unlock()
			if !ok {
				continue
			}
		}
		s.mu.Lock()
		v, ok := s.vms[id]
		if ok {
			out = append(out, s.summaryLocked(v))
		}
		s.mu.Unlock()
	}
	return out, nil
}

func (s *Server) summaryLocked(v *vmState) map[string]any {
	m := map[string]any{"vmid": v.id, "status": v.status, "maxmem": memBytes(v.conf["memory"]),
		"cpus": 1, "maxdisk": s.bootDiskSize(v), "mem": 0, "cpu": 0, "disk": 0, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0, "uptime": 0}
	if n := v.conf["name"]; n != "" {
		m["name"] = n
	}
	if t := v.conf["tags"]; t != "" {
		m["tags"] = t
	}
	if c, err := strconv.Atoi(v.conf["cores"]); err == nil {
		m["cpus"] = c
	}
	if v.lock != "" {
		m["lock"] = v.lock
	}
	if v.status == "running" {
		m["uptime"] = int64(time.Since(v.started).Seconds())
		m["pid"] = v.pid
		m["mem"] = memBytes(v.conf["memory"]) / 2
	}
	return m
}

func (s *Server) bootDiskSize(v *vmState) int64 {
	for _, k := range sortedKeys(v.conf) {
		if isDrive(k) && !strings.Contains(v.conf[k], "media=cdrom") {
			for _, part := range strings.Split(v.conf[k], ",") {
				if sz, ok := strings.CutPrefix(part, "size="); ok {
					n, _ := parseSize(sz)
					return n
				}
			}
		}
	}
	return 0
}

func (s *Server) getConfig(c *call) (any, *apiError) {
	if e := c.check(fmt.Sprintf("/vms/%d", c.vmid()), []string{"VM.Audit"}, false); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.vm(c)
	if e != nil {
		return nil, e
	}
	conf := v.conf
	if name := c.params["snapshot"]; name != "" {
		sn, ok := v.snaps[name]
		if !ok {
			return nil, errServer("snapshot '%s' does not exist", name)
		}
		conf = sn.conf
	}
	ep := s.qemuSchema()
	out := map[string]any{"digest": digest(conf)}
	for k, val := range conf {
		out[k] = ep.jsonValue(k, val)
	}
	if v.lock != "" {
		out["lock"] = v.lock
	}
	if v.parent != "" && c.params["snapshot"] == "" {
		out["parent"] = v.parent
	}
	return out, nil
}

func digest(conf map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(conf) {
		fmt.Fprintf(&b, "%s: %s\n", k, conf[k])
	}
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func (s *Server) getStatus(c *call) (any, *apiError) {
	if e := c.check(fmt.Sprintf("/vms/%d", c.vmid()), []string{"VM.Audit"}, false); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.vm(c)
	if e != nil {
		return nil, e
	}
	m := s.summaryLocked(v)
	m["qmpstatus"] = v.status
	m["ha"] = map[string]any{"managed": 0}
	agent := 0
	if a := v.conf["agent"]; a != "" {
		ps, _ := parsePropertyString(s.qemuSchema().Params["agent"].Sub, a)
		if ps != nil && boolOf(ps.get("enabled")) {
			agent = 1
		}
	}
	m["agent"] = agent
	if v.status == "running" {
		m["running-qemu"] = "9.2.0"
		m["running-machine"] = "pc-i440fx-9.2+pve1"
	}
	return m, nil
}

func (s *Server) start(c *call) (any, *apiError) {
	id := c.vmid()
	if e := c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.PowerMgmt"}, false); e != nil {
		return nil, e
	}
	s.mu.Lock()
	_, e := s.vm(c)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.startTask(c, "qmstart", strconv.Itoa(id), func(ctx context.Context, logf func(string, ...any)) error {
		return s.startVM(ctx, id, logf)
	})
}

// startVM is the worker of vm_start: checks, then the OnStart hook.
func (s *Server) startVM(ctx context.Context, id int, logf func(string, ...any)) error {
	s.mu.Lock()
	v, ok := s.vms[id]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("Configuration file 'nodes/%s/qemu-server/%d.conf' does not exist", s.opts.Node, id)
	}
	if v.lock != "" {
		s.mu.Unlock()
		return fmt.Errorf("VM is locked (%s)", v.lock)
	}
	if v.status == "running" {
		s.mu.Unlock()
		return fmt.Errorf("VM %d already running", id)
	}
	bridges := set(s.opts.Bridges...)
	for _, k := range sortedKeys(v.conf) {
		if netRE.MatchString(k) {
			if br := s.parseNet(k, v.conf[k]).get("bridge"); br != "" && !bridges[br] {
				s.mu.Unlock()
				return fmt.Errorf("bridge '%s' does not exist", br)
			}
		}
		if isDrive(k) {
			file := strings.Split(v.conf[k], ",")[0]
			if _, ok := s.volumes[file]; !ok && strings.Contains(file, ":") {
				s.mu.Unlock()
				return fmt.Errorf("volume '%s' does not exist", file)
			}
		}
	}
	if ci := v.conf["cicustom"]; ci != "" {
		for _, part := range strings.Split(ci, ",") {
			_, vol, _ := strings.Cut(part, "=")
			if _, ok := s.volumes[vol]; !ok {
				s.mu.Unlock()
				return fmt.Errorf("volume '%s' does not exist", vol)
			}
		}
	}
	hasCI := false
	for k, val := range v.conf {
		hasCI = hasCI || (isDrive(k) && strings.Contains(val, "cloudinit"))
	}
	view := s.viewLocked(v)
	s.mu.Unlock()
	if hasCI {
		logf("generating cloud-init ISO")
	}
	if s.opts.OnStart != nil {
		if err := s.opts.OnStart(ctx, view); err != nil {
			return fmt.Errorf("start failed: %v", err)
		}
	}
	s.mu.Lock()
	s.nextPID++
	v.status, v.started, v.pid = "running", time.Now(), s.nextPID
	s.mu.Unlock()
	return nil
}

// stopVM stops a running VM (the OnStop hook runs).
func (s *Server) stopVM(ctx context.Context, id int) error {
	s.mu.Lock()
	v, ok := s.vms[id]
	if !ok || v.status != "running" {
		s.mu.Unlock()
		return nil
	}
	view := s.viewLocked(v)
	s.mu.Unlock()
	if s.opts.OnStop != nil {
		if err := s.opts.OnStop(ctx, view); err != nil {
			return err
		}
	}
	s.mu.Lock()
	v.status, v.pid = "stopped", 0
	s.mu.Unlock()
	return nil
}

func (s *Server) stop(c *call) (any, *apiError) {
	id := c.vmid()
	if e := c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.PowerMgmt"}, false); e != nil {
		return nil, e
	}
	s.mu.Lock()
	_, e := s.vm(c)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.startTask(c, "qmstop", strconv.Itoa(id), func(ctx context.Context, logf func(string, ...any)) error {
		return s.stopVM(ctx, id)
	})
}

func (s *Server) shutdown(c *call) (any, *apiError) {
	id := c.vmid()
	if e := c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.PowerMgmt"}, false); e != nil {
		return nil, e
	}
	s.mu.Lock()
	_, e := s.vm(c)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.startTask(c, "qmshutdown", strconv.Itoa(id), func(ctx context.Context, logf func(string, ...any)) error {
		s.mu.Lock()
		running := s.vms[id] != nil && s.vms[id].status == "running"
		s.mu.Unlock()
		if !running {
			return fmt.Errorf("VM %d not running", id)
		}
		return s.stopVM(ctx, id)
	})
}

func (s *Server) resize(c *call) (any, *apiError) {
	id := c.vmid()
	if e := c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.Config.Disk"}, false); e != nil {
		return nil, e
	}
	disk, sizeArg := c.params["disk"], c.params["size"]
	s.mu.Lock()
	v, e := s.vm(c)
	var cur string
	if e == nil {
		cur = v.conf[disk]
	}
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	if cur == "" {
		return nil, errServer("disk '%s' does not exist", disk)
	}
	d, e := s.parseDrive(disk, cur)
	if e != nil {
		return nil, e
	}
	volid := d.get("file")
	sid, _, _ := strings.Cut(volid, ":")
	if e := c.check("/storage/"+sid, []string{"Datastore.AllocateSpace"}, false); e != nil {
		return nil, e
	}
	return s.startTask(c, "resize", strconv.Itoa(id), func(ctx context.Context, logf func(string, ...any)) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if v.lock != "" {
			return fmt.Errorf("VM is locked (%s)", v.lock)
		}
		old := s.volumes[volid]
		add := strings.HasPrefix(sizeArg, "+")
		n, ok := parseSize(strings.TrimPrefix(sizeArg, "+"))
		if !ok {
			return fmt.Errorf("invalid size '%s'", sizeArg)
		}
		if add {
			n += old
		}
		if n < old {
			return fmt.Errorf("shrinking disks is not supported")
		}
		s.volumes[volid] = n
		d.set("size", formatSize(n))
		v.conf[disk] = d.print("file")
		logf("Size of logical volume %s changed to %s.", volid, formatSize(n))
		return nil
	})
}

func (s *Server) listSnapshots(c *call) (any, *apiError) {
	if e := c.check(fmt.Sprintf("/vms/%d", c.vmid()), []string{"VM.Audit"}, false); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, e := s.vm(c)
	if e != nil {
		return nil, e
	}
	out := []map[string]any{}
	for _, name := range sortedKeys(v.snaps) {
		sn := v.snaps[name]
		m := map[string]any{"name": sn.name, "description": sn.desc, "snaptime": sn.time}
		if sn.parent != "" {
			m["parent"] = sn.parent
		}
		if sn.vmstate {
			m["vmstate"] = 1
		}
		out = append(out, m)
	}
	cur := map[string]any{"name": "current", "description": "You are here!", "digest": digest(v.conf)}
	if v.status == "running" {
		cur["running"] = 1
	} else {
		cur["running"] = 0
	}
	if v.parent != "" {
		cur["parent"] = v.parent
	}
	out = append(out, cur)
	return out, nil
}

func (s *Server) createSnapshot(c *call) (any, *apiError) {
	id := c.vmid()
	if e := c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.Snapshot"}, false); e != nil {
		return nil, e
	}
	name := c.params["snapname"]
	if name == "current" {
		return nil, errServer("unable to use snapshot name 'current' (reserved name)")
	}
	desc, vmstate := c.params["description"], boolOf(c.params["vmstate"])
	s.mu.Lock()
	v, e := s.vm(c)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.startTask(c, "qmsnapshot", strconv.Itoa(id), func(ctx context.Context, logf func(string, ...any)) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if v.lock != "" {
			return fmt.Errorf("VM is locked (%s)", v.lock)
		}
		if _, dup := v.snaps[name]; dup {
			return fmt.Errorf("snapshot name '%s' already used", name)
		}
		if vmstate && v.status != "running" {
			vmstate = false
		}
		v.snaps[name] = &snapState{name: name, desc: desc, parent: v.parent, time: time.Now().Unix(), vmstate: vmstate, conf: copyConf(v.conf)}
		v.parent = name
		for k, val := range v.conf {
			if isDrive(k) && !strings.Contains(val, "media=cdrom") {
				logf("snapshotting '%s' (%s)", k, strings.Split(val, ",")[0])
			}
		}
		return nil
	})
}

func (s *Server) deleteSnapshot(c *call) (any, *apiError) {
	id := c.vmid()
	if e := c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.Snapshot"}, false); e != nil {
		return nil, e
	}
	name := c.vars["snapname"]
	s.mu.Lock()
	v, e := s.vm(c)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.startTask(c, "qmdelsnapshot", strconv.Itoa(id), func(ctx context.Context, logf func(string, ...any)) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		sn, ok := v.snaps[name]
		if !ok {
			return fmt.Errorf("snapshot '%s' does not exist", name)
		}
		for _, other := range v.snaps {
			if other.parent == name {
				other.parent = sn.parent
			}
		}
		if v.parent == name {
			v.parent = sn.parent
		}
		delete(v.snaps, name)
		return nil
	})
}

func (s *Server) rollback(c *call) (any, *apiError) {
	id := c.vmid()
	if e := c.check(fmt.Sprintf("/vms/%d", id), []string{"VM.Snapshot", "VM.Snapshot.Rollback"}, true); e != nil {
		return nil, e
	}
	name := c.vars["snapname"]
	startAfter := boolOf(c.params["start"])
	s.mu.Lock()
	v, e := s.vm(c)
	s.mu.Unlock()
	if e != nil {
		return nil, e
	}
	return s.startTask(c, "qmrollback", strconv.Itoa(id), func(ctx context.Context, logf func(string, ...any)) error {
		s.mu.Lock()
		sn, ok := v.snaps[name]
		locked := v.lock
		s.mu.Unlock()
		if !ok {
			return fmt.Errorf("snapshot '%s' does not exist", name)
		}
		if locked != "" {
			return fmt.Errorf("VM is locked (%s)", locked)
		}
		if err := s.stopVM(ctx, id); err != nil {
			return err
		}
		s.mu.Lock()
		// Volumes of the current config that the snapshot does not know
		// become unused disks: a rollback never deletes a disk.
		known := map[string]bool{}
		for k, val := range sn.conf {
			if isDrive(k) || strings.HasPrefix(k, "unused") {
				known[strings.Split(val, ",")[0]] = true
			}
		}
		conf := copyConf(sn.conf)
		n := 0
		for _, k := range sortedKeys(v.conf) {
			if !isDrive(k) && !strings.HasPrefix(k, "unused") {
				continue
			}
			vol := strings.Split(v.conf[k], ",")[0]
			if known[vol] || strings.Contains(vol, "cloudinit") || !strings.Contains(vol, ":") {
				continue
			}
			for conf[fmt.Sprintf("unused%d", n)] != "" {
				n++
			}
			conf[fmt.Sprintf("unused%d", n)] = vol
			logf("keeping %s as unused%d", vol, n)
		}
		v.conf = conf
		v.parent = name
		s.mu.Unlock()
		if startAfter {
			return s.startVM(ctx, id, logf)
		}
		return nil
	})
}

// AttachDisk attaches a new volume of size bytes to a VM as key
// ("scsi1"), as someone adding a data disk in the web interface would.
func (s *Server) AttachDisk(vmid int, key, volid string, size int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.vms[vmid]
	if !ok {
		return fmt.Errorf("no VM %d", vmid)
	}
	if _, taken := v.conf[key]; taken {
		return fmt.Errorf("VM %d already has %s", vmid, key)
	}
	s.volumes[volid] = size
	v.conf[key] = volid + ",size=" + formatSize(size)
	return nil
}
