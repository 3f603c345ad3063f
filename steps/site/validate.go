package site

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Catalog is what validation needs to know of the app catalog.
type Catalog interface {
	// Has reports whether a component of that name exists.
	Has(name string) bool
	// Names lists every component, for did-you-mean.
	Names() []string
}

var (
	labelRE    = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	hostnameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$`)
	userRE     = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
	looksIPv4  = regexp.MustCompile(`^[0-9.]+$`)
	labelKeyRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)
	refRE      = regexp.MustCompile(`^(env:[A-Za-z_][A-Za-z0-9_]*|[a-z0-9][a-z0-9._-]*)$`)
)

// Domains that cannot get a public certificate.
var reservedTLDs = []string{"test", "local", "localhost", "internal", "example", "invalid", "lan", "home", "arpa", "localdomain"}

// Validate checks every field and returns Errors naming each bad one with
// its fix. Call ApplyDefaults first. catalog may be nil.
func (s *Site) Validate(catalog Catalog) error {
	var es Errors
	if s.Version != Version {
		if s.Version == 0 {
			es.add("version", "add `version: 1` at the top", "missing")
		} else {
			es.add("version", fmt.Sprintf("this collabstack reads version %d; upgrade collabstack or rewrite the file with `collabstack init`", Version), "%d is not supported", s.Version)
		}
	}
	if !contains(Topologies, s.Topology) {
		if s.Topology == "" {
			es.add("topology", "use one of: "+strings.Join(Topologies, ", "), "missing")
		} else {
			es.add("topology", didYouMean(s.Topology, Topologies), "%s is not a topology", Show(s.Topology))
		}
	}
	if err := CheckDomain(s.Domain); err != nil {
		es.add("domain", err.Fix, "%s", err.Problem)
	}
	if err := CheckEmail(s.AdminEmail); err != nil {
		es.add("admin_email", err.Fix, "%s", err.Problem)
	}
	if !contains(TLSModes, s.TLS.Mode) {
		es.add("tls.mode", didYouMean(s.TLS.Mode, TLSModes), "%s is not a TLS mode", Show(s.TLS.Mode))
	} else if s.TLS.Mode != TLSSelfSigned && s.TLS.ACMEServer == "" && s.Domain != "" && isReservedDomain(s.Domain) {
		es.add("tls.mode", "use tls.mode: self-signed, or a domain you own", "Let's Encrypt cannot issue a certificate for %s, a reserved name", Show(s.Domain))
	}
	s.validateACME(&es)
	s.validateHosts(&es)
	s.validateTopology(&es)
	s.validateImages(&es)
	s.validateNetwork(&es)
	s.validateProxmox(&es)
	s.validateComponents(&es, catalog)
	s.validateFirewall(&es)
	s.validateBackup(&es)
	if s.Prepare.Docker != "distro" && s.Prepare.Docker != "docker-repo" {
		es.add("prepare.docker", "use distro (the distribution's docker.io) or docker-repo (Docker's own repository)", "%s is not a docker source", Show(s.Prepare.Docker))
	}
	if !userRE.MatchString(s.Prepare.AdminUser) {
		es.add("prepare.admin_user", "use lower-case letters, digits, _ and -, starting with a letter", "%s is not a valid user name", Show(s.Prepare.AdminUser))
	}
	if e := CheckPath(s.Prepare.SFTPRoot, "/home/ubuntu/sftp"); e != nil {
		es.add("prepare.sftp_root", e.Fix, "%s", e.Problem)
	}
	if e := CheckNodeVersion(s.Prepare.Node); e != nil {
		es.add("prepare.node", e.Fix, "%s", e.Problem)
	}
	for i, n := range s.Prepare.NTP {
		if e := CheckAddress(n); e != nil {
			es.add(fmt.Sprintf("prepare.ntp[%d]", i), "give a time server's name or IP address, such as ntp.example.org", "%s", e.Problem)
		}
	}
	if !siteNameRE.MatchString(s.Name) {
		es.add("name", "use lower-case letters, digits and hyphens, up to 63, such as kopnik (it names the site's CA, VMs and VPN profiles)", "%s is not a valid site name", Show(s.Name))
	}
	s.validateLab(&es)
	return es.orNil()
}

// CheckDomain validates a domain name; the wizard calls it as the user types.
func CheckDomain(d string) *FieldError {
	switch {
	case d == "":
		return &FieldError{Problem: "missing", Fix: "give the domain your site will answer on, such as example.org"}
	case d != strings.ToLower(d):
		return &FieldError{Problem: fmt.Sprintf("%s has upper-case letters", Show(d)), Fix: "write it in lower case: " + strings.ToLower(d)}
	case len(d) > 253 || !strings.Contains(d, "."):
		return &FieldError{Problem: fmt.Sprintf("%s is not a full domain name", Show(d)), Fix: "give a name with a dot, such as example.org (lab: kopnik.test)"}
	}
	for _, l := range strings.Split(d, ".") {
		if !labelRE.MatchString(l) {
			return &FieldError{Problem: fmt.Sprintf("%s is not a valid domain name (label %s)", Show(d), Show(l)), Fix: "use letters, digits and hyphens between the dots"}
		}
	}
	return nil
}

// CheckEmail validates an e-mail address.
func CheckEmail(e string) *FieldError {
	if e == "" {
		return &FieldError{Problem: "missing", Fix: "give the address Let's Encrypt and the apps send notices to"}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !emailRE.MatchString(e) || len(e) > 254 {
		return &FieldError{Problem: fmt.Sprintf("%s is not an e-mail address", Show(e)), Fix: "write it as name@example.org: letters, digits and . _ + - before the @, a lower-case domain after it"}
	}
	return nil
}

// CheckAddress validates a host address (IP or DNS name).
func CheckAddress(a string) *FieldError {
	switch {
	case a == "":
		return &FieldError{Problem: "missing", Fix: "give the host's IP address or DNS name"}
	case looksIPv4.MatchString(a):
		if ip, err := netip.ParseAddr(a); err != nil || !ip.Is4() {
			return &FieldError{Problem: fmt.Sprintf("%s is not an IP address", Show(a)), Fix: "each of the four numbers is 0 to 255, such as 10.0.0.30"}
		}
	case strings.Contains(a, ":"):
		if _, err := netip.ParseAddr(a); err != nil {
			return &FieldError{Problem: fmt.Sprintf("%s is not an IP address", Show(a)), Fix: "write an IPv6 address without brackets or port, such as fd00::10"}
		}
	case !hostnameRE.MatchString(a) || len(a) > 253:
		return &FieldError{Problem: fmt.Sprintf("%s is neither an IP address nor a host name", Show(a)), Fix: "give an IP address such as 10.0.0.30 or a name such as server.example.org"}
	}
	return nil
}

// CheckHostName validates a host's name in the site file.
func CheckHostName(n string) *FieldError {
	if !labelRE.MatchString(n) {
		return &FieldError{Problem: fmt.Sprintf("%s is not a valid host name", Show(n)), Fix: "use lower-case letters, digits and hyphens, such as manager or node-2"}
	}
	return nil
}

func isReservedDomain(d string) bool {
	parts := strings.Split(d, ".")
	return contains(reservedTLDs, parts[len(parts)-1])
}

func (s *Site) validateHosts(es *Errors) {
	seen := map[string]bool{}
	addrs := map[string]int{}
	names := make([]string, 0, len(s.Hosts))
	for _, h := range s.Hosts {
		names = append(names, h.Name)
	}
	for i, h := range s.Hosts {
		p := fmt.Sprintf("hosts[%d]", i)
		if e := CheckHostName(h.Name); e != nil {
			es.add(p+".name", e.Fix, "%s", e.Problem)
		} else if seen[h.Name] {
			es.add(p+".name", "give every host its own name", "%s is used twice", Show(h.Name))
		}
		seen[h.Name] = true
		if e := CheckAddress(h.Address); e != nil {
			es.add(p+".address", e.Fix, "%s", e.Problem)
		} else {
			at := fmt.Sprintf("%s:%d via %s", strings.ToLower(h.Address), h.Port, h.Jump)
			if other, dup := addrs[at]; dup {
				es.add(p+".address", "give every host its own address (or port)", "%s:%d is also the address of hosts[%d]", Show(h.Address), h.Port, other)
			}
			addrs[at] = i
		}
		if h.Port < 1 || h.Port > 65535 {
			es.add(p+".port", "use the port sshd listens on, usually 22", "%d is not a TCP port", h.Port)
		}
		if !userRE.MatchString(h.User) {
			es.add(p+".user", "use the login name, such as root or ubuntu", "%s is not a valid user name", Show(h.User))
		}
		switch h.Auth.Method {
		case AuthKey:
			if h.Auth.KeyFile == "" {
				es.add(p+".auth.key_file", "give the path of your private key, such as ~/.ssh/id_ed25519", "missing")
			}
		case AuthAgent:
		case AuthPassword:
			if !refRE.MatchString(h.Auth.PasswordRef) {
				es.add(p+".auth.password_ref", "name a secret (set it with `collabstack secret set NAME`) or env:VARIABLE; never write the password here", "the value is not a secret reference (%d characters; not repeated here, in case it is a password)", len(h.Auth.PasswordRef))
			}
		default:
			es.add(p+".auth.method", didYouMean(h.Auth.Method, AuthMethods), "%s is not an auth method", Show(h.Auth.Method))
		}
		if h.SudoPasswordRef != "" && !refRE.MatchString(h.SudoPasswordRef) {
			es.add(p+".sudo_password_ref", "name a secret or env:VARIABLE; never write the password here", "the value is not a secret reference (%d characters; not repeated here, in case it is a password)", len(h.SudoPasswordRef))
		}
		if !contains(Roles, h.Role) {
			if h.Role == "" {
				es.add(p+".role", "use one of: "+strings.Join(Roles, ", "), "missing")
			} else {
				es.add(p+".role", didYouMean(h.Role, Roles), "%s is not a role", Show(h.Role))
			}
		}
		for _, k := range sortedKeys(h.Labels) {
			v := h.Labels[k]
			if !labelKeyRE.MatchString(k) || len(k) > 63 || !labelValueRE.MatchString(v) {
				es.add(p+".labels", "use letters, digits, dots, dashes and underscores in both, such as role: infra", "%s=%s is not a valid node label", Show(k), Show(v))
			}
		}
		if h.HostKey != "" {
			if e := CheckFingerprint(h.HostKey); e != nil {
				es.add(p+".host_key", e.Fix, "%s", e.Problem)
			}
		}
		if h.Jump != "" {
			if h.Jump == h.Name {
				es.add(p+".jump", "name another host, or remove jump", "a host cannot jump through itself")
			} else if !contains(names, h.Jump) && !s.isVM(h.Jump) {
				es.add(p+".jump", didYouMean(h.Jump, names), "%s is not a host of this site", Show(h.Jump))
			}
		}
	}
}

func (s *Site) isVM(name string) bool {
	if s.Proxmox == nil {
		return false
	}
	for _, vm := range s.Proxmox.VMs {
		if vm.Name == name {
			return true
		}
	}
	return false
}

func (s *Site) validateTopology(es *Errors) {
	count := map[string]int{}
	for _, h := range s.Hosts {
		count[h.Role]++
	}
	allowed := map[string][]string{
		TopologyLab:    {RoleManager, RoleWorker},
		TopologyKopnik: {RoleManager, RoleWorker, RoleStandby},
		TopologySingle: {RolePVEServer, RoleRouter, RoleVPN},
		TopologyFull:   {RolePVEServer, RolePVERouter, RoleRouter, RoleVPN},
	}[s.Topology]
	if allowed == nil {
		return
	}
	for i, h := range s.Hosts {
		if h.Role != "" && contains(Roles, h.Role) && !contains(allowed, h.Role) {
			es.add(fmt.Sprintf("hosts[%d].role", i), "use one of: "+strings.Join(allowed, ", "), "role %s does not belong in topology %s", Show(h.Role), s.Topology)
		}
	}
	need := func(role string, n int, fix string) {
		if count[role] != n {
			es.add("hosts", fix, "topology %s needs exactly %d host(s) with role %s, found %d", s.Topology, n, role, count[role])
		}
	}
	switch s.Topology {
	case TopologyLab:
		if len(s.Hosts) > 0 {
			need(RoleManager, 1, "mark one host role: manager")
		} else if s.Lab.Nodes < 1 || s.Lab.Nodes > 9 {
			es.add("lab.nodes", "use 1 to 9 (2 makes a manager and a worker)", "%d nodes is out of range", s.Lab.Nodes)
		}
		if s.Lab != nil && s.Lab.Subnet != "" {
			if _, err := netip.ParsePrefix(s.Lab.Subnet); err != nil {
				es.add("lab.subnet", "write it as 172.30.77.0/24", "%s is not a subnet", Show(s.Lab.Subnet))
			}
		}
	case TopologyKopnik:
		need(RoleManager, 1, "mark the main server role: manager")
		if count[RoleStandby] > 1 {
			es.add("hosts", "keep one standby", "topology kopnik has at most one standby, found %d", count[RoleStandby])
		}
	case TopologySingle:
		need(RolePVEServer, 1, "mark the Proxmox box role: pve-server")
	case TopologyFull:
		need(RolePVEServer, 1, "mark the mini-server role: pve-server")
		need(RolePVERouter, 1, "mark the soft-router role: pve-router")
	}
}

func (s *Site) validateImages(es *Errors) {
	switch s.Images.Source {
	case ImagesPull:
	case ImagesMirror:
		if e := CheckAddress(strings.Split(s.Images.Mirror, ":")[0]); s.Images.Mirror == "" || e != nil {
			es.add("images.mirror", "give the registry mirror as host:port, such as registry.lan:5000", "%s is not a registry address", Show(s.Images.Mirror))
		}
	case ImagesBundle:
		if s.Images.Bundle == "" {
			es.add("images.bundle", "give the path of a bundle made by `collabstack images save`", "missing")
		}
	default:
		es.add("images.source", didYouMean(s.Images.Source, ImageSources), "%s is not an image source", Show(s.Images.Source))
	}
}

func (s *Site) validateNetwork(es *Errors) {
	n := s.Network
	if n == nil {
		return
	}
	lan, err := netip.ParsePrefix(n.LAN)
	if err != nil {
		es.add("network.lan", "write it as 10.10.0.0/24", "%s is not a subnet", Show(n.LAN))
	}
	vpn, verr := netip.ParsePrefix(n.VPN)
	if verr != nil {
		es.add("network.vpn", "write it as 10.20.0.0/24", "%s is not a subnet", Show(n.VPN))
	}
	if err == nil && verr == nil && lan.Overlaps(vpn) {
		es.add("network.vpn", "give the VPN a subnet apart from the LAN", "%s overlaps the LAN %s", n.VPN, n.LAN)
	}
	if gw, gerr := netip.ParseAddr(n.Gateway); gerr != nil {
		es.add("network.gateway", "give the LAN address of outer-openwrt, such as 10.10.0.1", "%s is not an IP address", Show(n.Gateway))
	} else if err == nil && !lan.Contains(gw) {
		es.add("network.gateway", "pick an address inside "+n.LAN, "%s is outside the LAN", n.Gateway)
	}
	for i, u := range n.Upstreams {
		if _, err := netip.ParseAddr(u); err != nil {
			es.add(fmt.Sprintf("network.dns_upstreams[%d]", i), "give the IP address of a DNS resolver", "%s is not an IP address", Show(u))
		}
	}
	for field, b := range map[string]string{"network.wan_bridge": n.WANBridge, "network.lan_bridge": n.LANBridge, "network.vpn_bridge": n.VPNBridge} {
		if e := CheckInterface(b); e != nil {
			es.add(field, e.Fix, "%s", e.Problem)
		}
	}
	if n.PublicIPv4 != "" {
		if e := CheckIPv4(n.PublicIPv4); e != nil {
			es.add("network.public_ipv4", e.Fix, "%s", e.Problem)
		}
	}
	for i, u := range n.VPNUsers {
		if !userRE.MatchString(u) {
			es.add(fmt.Sprintf("network.vpn_users[%d]", i), "use lower-case letters, digits, _ and -", "%s is not a valid user name", Show(u))
		}
	}
}

func (s *Site) validateProxmox(es *Errors) {
	if s.Proxmox == nil {
		return
	}
	var pve []string
	for _, h := range s.Hosts {
		if h.Role == RolePVEServer || h.Role == RolePVERouter {
			pve = append(pve, h.Name)
		}
	}
	var lan netip.Prefix
	if s.Network != nil {
		lan, _ = netip.ParsePrefix(s.Network.LAN)
	}
	if s.Proxmox.Storage != "" && !storageRE.MatchString(s.Proxmox.Storage) {
		es.add("proxmox.storage", "give a Proxmox storage ID such as local-lvm", "%s is not a storage ID", Show(s.Proxmox.Storage))
	}
	seen := map[string]bool{}
	vmAddrs := map[netip.Addr]int{}
	for i, vm := range s.Proxmox.VMs {
		p := fmt.Sprintf("proxmox.vms[%d]", i)
		if e := CheckHostName(vm.Name); e != nil {
			es.add(p+".name", e.Fix, "%s", e.Problem)
		} else if seen[vm.Name] || contains(names(s.Hosts), vm.Name) {
			es.add(p+".name", "give every VM and host its own name", "%s is used twice", Show(vm.Name))
		}
		seen[vm.Name] = true
		if !contains(pve, vm.On) {
			es.add(p+".on", didYouMean(vm.On, pve), "%s is not a Proxmox host of this site", Show(vm.On))
		}
		if vm.Kind != VMDebian && vm.Kind != VMOpenWrt {
			es.add(p+".kind", "use debian or openwrt", "%s is not a VM kind", Show(vm.Kind))
		}
		intRange(es, p+".cores", vm.Cores, 1, 128)
		intRange(es, p+".memory_mb", vm.MemoryMB, 128, 4*1024*1024)
		intRange(es, p+".disk_gb", vm.DiskGB, 1, 64*1024)
		for j, b := range vm.Bridges {
			if e := CheckInterface(b); e != nil {
				es.add(fmt.Sprintf("%s.bridges[%d]", p, j), e.Fix, "%s", e.Problem)
			}
		}
		if vm.Role != "" && vm.Role != RoleManager && vm.Role != RoleWorker && vm.Role != RoleRouter && vm.Role != RoleVPN {
			es.add(p+".role", didYouMean(vm.Role, []string{RoleManager, RoleWorker, RoleRouter, RoleVPN}), "%s is not a VM role", Show(vm.Role))
		}
		for _, k := range sortedKeys(vm.Labels) {
			if !labelKeyRE.MatchString(k) || len(k) > 63 || !labelValueRE.MatchString(vm.Labels[k]) {
				es.add(p+".labels", "use letters, digits, dots, dashes and underscores in both, such as role: infra", "%s=%s is not a valid node label", Show(k), Show(vm.Labels[k]))
			}
		}
		if vm.Address != "" {
			a, err := netip.ParsePrefix(vm.Address)
			switch {
			case err != nil:
				es.add(p+".address", "write it with its prefix, such as 10.10.0.11/24", "%s is not an address with prefix", Show(vm.Address))
			case lan.IsValid() && !lan.Contains(a.Addr()):
				es.add(p+".address", "pick an address inside "+lan.String(), "%s is outside the LAN", vm.Address)
			default:
				if other, dup := vmAddrs[a.Addr()]; dup {
					es.add(p+".address", "give every VM its own address", "%s is also the address of proxmox.vms[%d]", a.Addr(), other)
				}
				vmAddrs[a.Addr()] = i
			}
		}
	}
}

func names(hosts []Host) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Name
	}
	return out
}

func (s *Site) validateComponents(es *Errors, catalog Catalog) {
	for _, name := range sortedKeys(s.Components) {
		c := s.Components[name]
		p := "components." + name
		if !labelRE.MatchString(name) {
			es.add("components", "use the component names `collabstack apps` lists", "%s is not a component name", Show(name))
			continue
		}
		if catalog != nil && !catalog.Has(name) {
			es.add(p, didYouMean(name, catalog.Names())+" (list them with `collabstack apps`)", "%s is not a known component", Show(name))
		}
		if c.Placement != "" && c.Placement != LabelInfra && c.Placement != LabelCommon {
			es.add(p+".placement", "use infra or common", "%s is not a placement", Show(c.Placement))
		}
	}
}

func (s *Site) validateACME(es *Errors) {
	if s.TLS.ACMEServer != "" {
		u, err := url.Parse(s.TLS.ACMEServer)
		if err != nil || u.Scheme != "https" || u.Host == "" || !urlRE.MatchString(s.TLS.ACMEServer) || len(s.TLS.ACMEServer) > 300 {
			es.add("tls.acme_server", "give the https:// URL of the ACME directory, such as https://ca.example.org/acme/acme/directory", "%s is not an https URL", Show(s.TLS.ACMEServer))
		}
		if s.TLS.Mode == TLSSelfSigned {
			es.add("tls.acme_server", "remove it, or set tls.mode: letsencrypt to get certificates from that server", "is set but tls.mode is self-signed")
		}
	}
	if s.TLS.ACMECA != "" {
		data, err := readSmallFile(ExpandHome(s.TLS.ACMECA))
		if err != nil {
			es.add("tls.acme_ca", "give the path of a PEM file on this machine", "cannot read %s: %v", Show(s.TLS.ACMECA), errors.Unwrap(err))
		} else if p := x509.NewCertPool(); !p.AppendCertsFromPEM(data) {
			es.add("tls.acme_ca", "give a PEM file with at least one CERTIFICATE block", "%s holds no certificate", Show(s.TLS.ACMECA))
		}
	}
}

// IsReservedDomain reports whether d ends in a name reserved for tests and
// private use (.test, .example, .invalid, .localhost, ...): no public DNS
// has it and no public CA issues for it.
func IsReservedDomain(d string) bool { return d != "" && isReservedDomain(d) }

// intRange adds an error when n is outside [lo, hi].
func intRange(es *Errors, field string, n, lo, hi int) {
	if n < lo || n > hi {
		es.add(field, fmt.Sprintf("use a whole number from %d to %d", lo, hi), "%d is out of range", n)
	}
}

func (s *Site) validateLab(es *Errors) {
	if s.Lab == nil {
		return
	}
	if s.Topology != TopologyLab {
		es.add("lab", "remove it, or use topology: lab", "lab: is only read for topology lab")
		return
	}
	if s.Lab.Network != "" && !dockerNameRE.MatchString(s.Lab.Network) {
		es.add("lab.network", "use letters, digits, _ . and -, such as collabstack-lab", "%s is not a docker network name", Show(s.Lab.Network))
	}
	if s.Lab.Image != "" {
		if e := CheckImage(s.Lab.Image); e != nil {
			es.add("lab.image", e.Fix, "%s", e.Problem)
		}
	}
}

// readSmallFile reads a regular file of at most 1 MB: a device, a FIFO or
// a huge file named in the site file must not block or exhaust validation.
func readSmallFile(p string) ([]byte, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() || st.Size() > 1<<20 {
		return nil, &os.PathError{Op: "read", Path: p, Err: errors.New("not a regular file of at most 1 MB")}
	}
	return os.ReadFile(p)
}
