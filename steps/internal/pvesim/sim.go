// Package pvesim is a Proxmox VE API simulator for tests: an HTTPS server
// on loopback that answers the endpoints collabstack uses the way PVE's
// published API describes them, so the real go-proxmox client can be
// driven against it.
//
// What it models, from the published API (pve-docs api-viewer/apidata.js,
// extracted into schema.json by schema_gen.go) and from qemu-server's and
// pve-storage's source where the API description is silent:
//
//   - the paths under /api2/json, the response envelope {"data": ...},
//     parameters from the query string (GET, DELETE) or the body (POST,
//     PUT; JSON or form encoded), validated against the schema: unknown
//     parameters, missing required ones, types, enums, ranges, patterns,
//     lengths, the formats pve-vmid, pve-node, pve-configid, pve-tag-list,
//     urlencoded, dns-name, pve-storage-id, pve-bridge-id, and the keys of
//     property strings (net0, scsi0, memory, agent, ...);
//   - errors as PVE sends them: 400 "Parameter verification failed." with
//     {"errors": {param: message}}, 401 without a valid API token, 403
//     "Permission check failed (path, privilege)", 500 and 501 with the
//     message in the HTTP status line and {"data": null} as body;
//   - API tokens, header Authorization: PVEAPIToken=USER@REALM!TOKENID=SECRET,
//     with privileges granted on / (a token with privilege separation off
//     and an ACL on / for its user, as collabstack makes), and the
//     permission checks of qemu-server's create_vm (VM.Allocate, the
//     VM.Config.* privilege of every option, Datastore.AllocateSpace on a
//     storage that gets a disk, access to import volumes, SDN.Use on each
//     bridge, VM.Config.HWType for serial sockets, VM.Config.Options for
//     tags), start/stop (VM.PowerMgmt), snapshots (VM.Snapshot), rollback
//     (VM.Snapshot or VM.Snapshot.Rollback), resize (VM.Config.Disk and
//     Datastore.AllocateSpace), reads (VM.Audit, Sys.Audit); only
//     root@pam may import from a file system path. Which privileges were
//     used is recorded (UsedPrivileges), so a test can prove a role holds
//     no more than it needs;
//   - worker tasks with UPIDs UPID:node:PID:PSTART:STARTTIME:TYPE:ID:USER:,
//     status running then stopped with exitstatus "OK" or the error, and
//     a log ending in "TASK OK" or "TASK ERROR: ...";
//   - VMs: the config as PVE stores and returns it (random MACs for NICs
//     without one, disks imported from import volumes or allocated, the
//     cloud-init drive, digest, meta, smbios1, vmgenid, tags normalised),
//     integers and booleans of the config as JSON numbers, the VM list
//     filtered by VM.Audit, status, snapshots with the pseudo-entry
//     "current", rollback (disks attached after the snapshot become
//     unusedN, never deleted), resize (no shrinking), /cluster/nextid
//     (returned as a string, as PVE does);
//   - the cloud-init data PVE would generate (CloudInit), following
//     qemu-server's Cloudinit.pm: user, SSH keys, one network entry per
//     NIC that has an ipconfig.
//
// What it does not model: tickets and CSRF tokens (only API tokens), the
// 3-second delay PVE puts on failed logins, ACLs on paths other than /,
// pools, HA, clusters of several nodes, backups, migration, the guest
// agent, consoles and websockets, storage plugins beyond "dir" and
// "lvmthin" bookkeeping (no data is written: disks are sizes), QEMU
// itself. Starting a VM runs the OnStart hook (a test can start a lab
// container with the VM's address and key there, see LabHook); without
// one a VM is "running" in name only. Error texts follow PVE where the
// source was read; others are close paraphrases.
package pvesim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultNode    = "pve"
	DefaultVersion = "8.4.1"
)

// Storage is a storage of the simulated node.
type Storage struct {
	ID      string   // local, local-lvm
	Type    string   // dir, lvmthin
	Content []string // images, rootdir, iso, vztmpl, backup, import, snippets
}

// Options configure a simulator.
type Options struct {
	// Node is the node name (default "pve").
	Node string
	// Version is the pve-manager version /version reports (default 8.4.1).
	Version string
	// MemoryMiB and CPUs are the node's resources (default 65536 and 16).
	MemoryMiB int
	CPUs      int
	// Bridges that exist on the node (default vmbr0, vmbr1, vmbr2); a VM
	// with a NIC on another bridge fails to start.
	Bridges []string
	// Storages (default local: dir with iso, vztmpl, backup, import and
	// snippets; local-lvm: lvmthin with images and rootdir).
	Storages []Storage
	// OnStart runs in the start task before the VM counts as running; an
	// error fails the task with its text. OnStop runs when a VM stops.
	OnStart func(ctx context.Context, vm VM) error
	OnStop  func(ctx context.Context, vm VM) error
	// TaskPolls is how many status reads a finished task still reports
	// "running", so clients must poll (default 1).
	TaskPolls int
	// Logf receives a line per request (optional).
	Logf func(format string, args ...any)
}

// Request is one API request the simulator answered.
type Request struct {
	Method, Path string
	Params       map[string]string
	// Authorization is the header as sent.
	Authorization string
	Status        int
}

// Server is a running simulator.
type Server struct {
	// URL is the API base, https://127.0.0.1:PORT/api2/json, the form
	// go-proxmox's NewClient takes.
	URL string

	opts   Options
	hs     *httptest.Server
	schema *schema

	mu        sync.Mutex
	cert      tls.Certificate
	tokens    map[string]token
	vms       map[int]*vmState
	volumes   map[string]int64
	snippets  map[string][]byte
	tasks     map[string]*task
	taskOrder []string
	used      map[string]bool
	requests  []Request
	nextPID   int
	closed    bool
	ctx       context.Context
	cancel    context.CancelFunc
	workers   sync.WaitGroup
}

type token struct {
	secret string
	privs  map[string]bool
	root   bool
}

// Start starts a simulator on 127.0.0.1 with a fresh self-signed
// certificate. Close stops it.
func Start(o Options) (*Server, error) {
	if o.Node == "" {
		o.Node = DefaultNode
	}
	if o.Version == "" {
		o.Version = DefaultVersion
	}
	if o.MemoryMiB == 0 {
		o.MemoryMiB = 65536
	}
	if o.CPUs == 0 {
		o.CPUs = 16
	}
	if o.Bridges == nil {
		o.Bridges = []string{"vmbr0", "vmbr1", "vmbr2"}
	}
	if o.Storages == nil {
		o.Storages = []Storage{
			{ID: "local", Type: "dir", Content: []string{"iso", "vztmpl", "backup", "import", "snippets"}},
			{ID: "local-lvm", Type: "lvmthin", Content: []string{"images", "rootdir"}},
		}
	}
	if o.TaskPolls == 0 {
		o.TaskPolls = 1
	}
	sc, err := loadSchema()
	if err != nil {
		return nil, err
	}
	cert, err := newCertificate(o.Node)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, schema: sc, cert: cert, tokens: map[string]token{}, vms: map[int]*vmState{},
		volumes: map[string]int64{}, snippets: map[string][]byte{}, tasks: map[string]*task{}, used: map[string]bool{}, nextPID: 4000}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.hs = httptest.NewUnstartedServer(s)
	s.hs.TLS = &tls.Config{
		NextProtos: []string{"http/1.1"},
		// Called on every handshake, so RotateCertificate takes effect at once.
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			return &tls.Config{Certificates: []tls.Certificate{s.cert}, NextProtos: []string{"http/1.1"}}, nil
		},
	}
	// Clients refusing a rotated certificate are the point of some tests.
	s.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.hs.StartTLS()
	s.URL = s.hs.URL + "/api2/json"
	return s, nil
}

// Close stops the server and waits for running tasks.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.hs.Close()
	s.workers.Wait()
}

// Node is the simulated node's name.
func (s *Server) Node() string { return s.opts.Node }

// Addr is host:port of the server.
func (s *Server) Addr() string { return strings.TrimPrefix(s.hs.URL, "https://") }

// AddToken makes an API token "USER@REALM!TOKENID" with secret, holding
// privs on / (privilege separation off, the user's ACL on /). A token of
// root@pam holds every privilege.
func (s *Server) AddToken(tokenID, secret string, privs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := token{secret: secret, privs: map[string]bool{}, root: strings.HasPrefix(tokenID, "root@pam!")}
	for _, p := range privs {
		t.privs[p] = true
	}
	s.tokens[tokenID] = t
}

// AddVolume puts a volume into a storage ("local:import/x.qcow2"), size
// in bytes, as if it had been uploaded or downloaded there.
func (s *Server) AddVolume(volid string, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.volumes[volid] = size
}

// PutSnippet puts a snippet volume ("local:snippets/name") with its
// content, as writing the file on the PVE host does; a VM whose cicustom
// names it as user= gets it as its user data (VM.UserData).
func (s *Server) PutSnippet(volid string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.volumes[volid] = int64(len(data))
	s.snippets[volid] = append([]byte(nil), data...)
}

// HasVolume reports whether a volume exists.
func (s *Server) HasVolume(volid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.volumes[volid]
	return ok
}

// Fingerprint is the SHA-256 fingerprint of the current certificate in
// PVE's notation (AA:BB:...), as /nodes reports it in ssl_fingerprint.
func (s *Server) Fingerprint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fingerprint(s.cert.Certificate[0])
}

// RotateCertificate replaces the certificate (a reinstalled node, or
// someone in the middle).
func (s *Server) RotateCertificate() error {
	c, err := newCertificate(s.opts.Node)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cert = c
	s.mu.Unlock()
	s.hs.CloseClientConnections()
	return nil
}

// UsedPrivileges lists the privileges permission checks relied on, sorted.
func (s *Server) UsedPrivileges() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for p := range s.used {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// newCertificate makes a self-signed certificate for the node and
// 127.0.0.1, like pve-ssl.pem (which is signed by the cluster's own CA).
func newCertificate(node string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: node, Organization: []string{"PVE Cluster Node"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{node, "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// apiError is an error response.
type apiError struct {
	code   int
	msg    string
	params map[string]string // 400: per-parameter messages
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

func errParams(params map[string]string) *apiError {
	return &apiError{code: 400, msg: "Parameter verification failed.", params: params}
}

func errParam(name, msg string) *apiError { return errParams(map[string]string{name: msg}) }

func errServer(format string, args ...any) *apiError {
	return &apiError{code: 500, msg: fmt.Sprintf(format, args...)}
}

// call is one request being answered.
type call struct {
	s      *Server
	user   string // token ID
	tok    token
	vars   map[string]string
	params map[string]string
}

type handler func(c *call) (any, *apiError)

type route struct {
	method, pattern string
	fn              handler
}

func (s *Server) routes() []route {
	return []route{
		{"GET", "/version", s.getVersion},
		{"GET", "/nodes", s.getNodes},
		{"GET", "/nodes/{node}/status", s.getNodeStatus},
		{"GET", "/cluster/nextid", s.getNextID},
		{"GET", "/nodes/{node}/storage/{storage}/content", s.getStorageContent},
		{"GET", "/nodes/{node}/qemu", s.listVMs},
		{"POST", "/nodes/{node}/qemu", s.createVM},
		{"GET", "/nodes/{node}/qemu/{vmid}/config", s.getConfig},
		{"PUT", "/nodes/{node}/qemu/{vmid}/resize", s.resize},
		{"GET", "/nodes/{node}/qemu/{vmid}/status/current", s.getStatus},
		{"POST", "/nodes/{node}/qemu/{vmid}/status/start", s.start},
		{"POST", "/nodes/{node}/qemu/{vmid}/status/stop", s.stop},
		{"POST", "/nodes/{node}/qemu/{vmid}/status/shutdown", s.shutdown},
		{"GET", "/nodes/{node}/qemu/{vmid}/snapshot", s.listSnapshots},
		{"POST", "/nodes/{node}/qemu/{vmid}/snapshot", s.createSnapshot},
		{"DELETE", "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}", s.deleteSnapshot},
		{"POST", "/nodes/{node}/qemu/{vmid}/snapshot/{snapname}/rollback", s.rollback},
		{"GET", "/nodes/{node}/tasks/{upid}/status", s.taskStatus},
		{"GET", "/nodes/{node}/tasks/{upid}/log", s.taskLog},
	}
}

func match(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	vars := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") {
			vars[strings.Trim(p, "{}")] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return vars, true
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Authorization: r.Header.Get("Authorization")}
	data, aerr := s.serve(r, &rec)
	if aerr != nil {
		rec.Status = aerr.code
	} else {
		rec.Status = 200
	}
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
	if s.opts.Logf != nil {
		s.opts.Logf("pvesim: %s %s -> %d", r.Method, r.URL.Path, rec.Status)
	}
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	body, _ := json.Marshal(map[string]any{"data": data})
	w.Write(body)
}

func (s *Server) serve(r *http.Request, rec *Request) (any, *apiError) {
	path, ok := strings.CutPrefix(r.URL.Path, "/api2/json")
	if !ok {
		return nil, &apiError{code: 501, msg: fmt.Sprintf("Method '%s %s' not implemented", r.Method, r.URL.Path)}
	}
	params, aerr := readParams(r)
	rec.Params = params
	if aerr != nil {
		return nil, aerr
	}
	user, tok, aerr := s.authenticate(r)
	if aerr != nil {
		return nil, aerr
	}
	for _, rt := range s.routes() {
		if rt.method != r.Method {
			continue
		}
		vars, ok := match(rt.pattern, path)
		if !ok {
			continue
		}
		all := map[string]string{}
		for k, v := range params {
			all[k] = v
		}
		for k, v := range vars {
			all[k] = v
		}
		if aerr := s.schema.validate(rt.method+" "+rt.pattern, all); aerr != nil {
			return nil, aerr
		}
		if node, ok := vars["node"]; ok && node != s.opts.Node {
			return nil, errServer("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", node, node)
		}
		return rt.fn(&call{s: s, user: user, tok: tok, vars: vars, params: params})
	}
	return nil, &apiError{code: 501, msg: fmt.Sprintf("Method '%s %s' not implemented", r.Method, path)}
}

// authenticate reads the API token header.
func (s *Server) authenticate(r *http.Request) (string, token, *apiError) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", token{}, &apiError{code: 401, msg: "No ticket"}
	}
	rest, ok := strings.CutPrefix(h, "PVEAPIToken=")
	if !ok {
		return "", token{}, &apiError{code: 401, msg: "authentication failure"}
	}
	i := strings.LastIndex(rest, "=")
	if i < 0 {
		return "", token{}, &apiError{code: 401, msg: "authentication failure"}
	}
	id, secret := rest[:i], rest[i+1:]
	s.mu.Lock()
	t, ok := s.tokens[id]
	s.mu.Unlock()
	if !ok || t.secret != secret || !validTokenID(id) {
		return "", token{}, &apiError{code: 401, msg: "authentication failure"}
	}
	return id, t, nil
}

func validTokenID(id string) bool {
	user, name, ok := strings.Cut(id, "!")
	return ok && strings.Contains(user, "@") && name != ""
}

// readParams merges the query string and the body (JSON or form).
func readParams(r *http.Request) (map[string]string, *apiError) {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		out[k] = v[len(v)-1]
	}
	if r.Body == nil || (r.Method != http.MethodPost && r.Method != http.MethodPut) {
		return out, nil
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]any
		dec := json.NewDecoder(r.Body)
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, &apiError{code: 400, msg: "malformed JSON body: " + err.Error()}
		}
		for k, v := range m {
			switch x := v.(type) {
			case string:
				out[k] = x
			case json.Number:
				out[k] = x.String()
			case bool:
				out[k] = map[bool]string{true: "1", false: "0"}[x]
			case nil:
			default:
				return nil, errParam(k, "type check ('string') failed - got a "+fmt.Sprintf("%T", v))
			}
		}
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		if err := r.ParseForm(); err != nil {
			return nil, &apiError{code: 400, msg: "malformed form body"}
		}
		for k, v := range r.PostForm {
			out[k] = v[len(v)-1]
		}
	}
	return out, nil
}

// writeError sends an error with PVE's status line: the message is the
// reason phrase, which Go's ResponseWriter cannot set, so the connection
// is hijacked and the response written by hand.
func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"data": nil}
	if e.params != nil {
		errs := map[string]string{}
		for k, v := range e.params {
			errs[k] = v + "\n"
		}
		body["errors"] = errs
	}
	b, _ := json.Marshal(body)
	reason := strings.Join(strings.Fields(e.msg), " ")
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(e.code)
		w.Write(b)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", e.code, reason, len(b))
	buf.Write(b)
	buf.Flush()
}

// check enforces that the caller holds privs on path: all of them, or
// with anyOf one of them. It records what was relied on.
func (c *call) check(path string, privs []string, anyOf bool) *apiError {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.tok.root {
		return nil
	}
	if anyOf {
		for _, p := range privs {
			if c.tok.privs[p] {
				c.s.used[p] = true
				return nil
			}
		}
		return &apiError{code: 403, msg: fmt.Sprintf("Permission check failed (%s, %s)", path, strings.Join(privs, "|"))}
	}
	for _, p := range privs {
		if !c.tok.privs[p] {
			return &apiError{code: 403, msg: fmt.Sprintf("Permission check failed (%s, %s)", path, p)}
		}
	}
	for _, p := range privs {
		c.s.used[p] = true
	}
	return nil
}

func (c *call) vmid() int {
	id, _ := strconv.Atoi(c.vars["vmid"])
	return id
}

func (s *Server) getVersion(c *call) (any, *apiError) {
	release := s.opts.Version
	if i := strings.LastIndex(release, "."); i > 0 {
		release = release[:i]
	}
	return map[string]any{"version": s.opts.Version, "release": release, "repoid": "c6e0f5a8", "console": "html5"}, nil
}

func (s *Server) getNodes(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	mem := uint64(s.opts.MemoryMiB) << 20
	return []map[string]any{{
		"node": s.opts.Node, "status": "online", "type": "node", "id": "node/" + s.opts.Node,
		"maxcpu": s.opts.CPUs, "maxmem": mem, "mem": s.usedMemLocked(), "cpu": 0.02,
		"maxdisk": uint64(100) << 30, "disk": uint64(8) << 30, "uptime": 86400, "level": "",
		"ssl_fingerprint": fingerprint(s.cert.Certificate[0]),
	}}, nil
}

func (s *Server) usedMemLocked() uint64 {
	var used uint64 = 2 << 30 // the host itself
	for _, v := range s.vms {
		if v.status == "running" {
			used += memBytes(v.conf["memory"])
		}
	}
	return used
}

func (s *Server) getNodeStatus(c *call) (any, *apiError) {
	if e := c.check("/nodes/"+s.opts.Node, []string{"Sys.Audit"}, false); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total := uint64(s.opts.MemoryMiB) << 20
	used := s.usedMemLocked()
	return map[string]any{
		"pveversion": "pve-manager/" + s.opts.Version + "/c6e0f5a8",
		"kversion":   "Linux 6.8.12-9-pve #1 SMP PREEMPT_DYNAMIC PMX 6.8.12-9",
		"uptime":     86400, "cpu": 0.02, "wait": 0, "idle": 0,
		"loadavg":        []string{"0.10", "0.05", "0.01"},
		"memory":         map[string]any{"total": total, "used": used, "free": total - used},
		"swap":           map[string]any{"total": 0, "used": 0, "free": 0},
		"rootfs":         map[string]any{"total": uint64(100) << 30, "used": uint64(8) << 30, "avail": uint64(92) << 30, "free": uint64(92) << 30},
		"cpuinfo":        map[string]any{"cpus": s.opts.CPUs, "cores": s.opts.CPUs, "sockets": 1, "model": "QEMU Virtual CPU (simulated)", "mhz": "2400.000", "hvm": "1", "user_hz": 100, "flags": "fpu"},
		"boot-info":      map[string]any{"mode": "legacy-bios"},
		"current-kernel": map[string]any{"sysname": "Linux", "release": "6.8.12-9-pve", "machine": "x86_64", "version": "#1 SMP"},
		"ksm":            map[string]any{"shared": 0},
	}, nil
}

func (s *Server) getNextID(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := c.params["vmid"]; v != "" {
		id, _ := strconv.Atoi(v)
		if _, taken := s.vms[id]; taken {
			return nil, errParam("vmid", fmt.Sprintf("VM %d already exists", id))
		}
		return strconv.Itoa(id), nil
	}
	for id := 100; ; id++ {
		if _, taken := s.vms[id]; !taken {
			return strconv.Itoa(id), nil
		}
	}
}

func (s *Server) storage(id string) (Storage, bool) {
	for _, st := range s.opts.Storages {
		if st.ID == id {
			return st, true
		}
	}
	return Storage{}, false
}

func (st Storage) has(content string) bool {
	for _, c := range st.Content {
		if c == content {
			return true
		}
	}
	return false
}

func (s *Server) getStorageContent(c *call) (any, *apiError) {
	sid := c.vars["storage"]
	st, ok := s.storage(sid)
	if !ok {
		return nil, errServer("storage '%s' does not exist", sid)
	}
	if e := c.check("/storage/"+sid, []string{"Datastore.Audit", "Datastore.AllocateSpace"}, true); e != nil {
		return nil, e
	}
	want := c.params["content"]
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	var ids []string
	for volid := range s.volumes {
		ids = append(ids, volid)
	}
	sort.Strings(ids)
	for _, volid := range ids {
		vsid, name, _ := strings.Cut(volid, ":")
		if vsid != sid {
			continue
		}
		content := "images"
		if dir, _, ok := strings.Cut(name, "/"); ok {
			content = dir
		}
		if !st.has(content) || (want != "" && want != content) {
			continue
		}
		format := "raw"
		if i := strings.LastIndex(name, "."); i > 0 && content != "images" {
			format = name[i+1:]
		}
		out = append(out, map[string]any{"volid": volid, "content": content, "format": format, "size": s.volumes[volid], "ctime": time.Now().Unix()})
	}
	return out, nil
}

// unescape decodes a urlencoded parameter value as PVE does.
func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
