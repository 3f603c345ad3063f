package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/site"
)

// draft is the site being asked for: every answer so far, the passwords
// typed (which go to the secrets file, never the site file) and what the
// connection tests found. The full-screen wizard and plain mode fill the
// same draft and write the same site file from it.
type draft struct {
	topology   string
	labNodes   int
	hosts      []*hostDraft
	domain     string
	email      string
	tls        string
	cat        *catalog
	localFacts *HostFacts
	// base is the site file read back when adding components; the fields
	// the wizard does not ask about are kept from it.
	base *site.Site
	// adv: the answers of the advanced page.
	adv advanced
	// admin is the site's first administrator, asked when the directory
	// (openldap) is chosen; apply makes the account (steps/identity).
	admin firstAdmin
}

// firstAdmin is the first person of the directory: the options
// first_admin, first_admin_name and first_admin_email of openldap.
type firstAdmin struct{ User, Name, Email string }

// directoryApp is the component whose first administrator the wizard asks for.
const directoryApp = "openldap"

// wantsAdmin reports whether the wizard asks for the first administrator:
// when the directory is among the chosen components (or needed by one).
func (d *draft) wantsAdmin() bool { return d.cat.isSelected(directoryApp) }

// hostDraft is one host with what its connection test found.
type hostDraft struct {
	site.Host
	Password     string // login password, when auth is password
	SudoPassword string // when sudo asks for one
	Fingerprint  string // confirmed host key
	Facts        *HostFacts
	TestErr      string
	// Bootstrap: the user has only a password. The connection test logs
	// in once with Password, installs the site's own key and from then
	// on the host logs in with it (Auth.KeyFile is set once installed).
	// The password is kept only when KeepPassword asks (as the sudo
	// password).
	Bootstrap    bool
	KeepPassword bool
}

// keyPending reports whether h still waits for its key to be installed.
func (h *hostDraft) keyPending() bool { return h.Bootstrap && h.Auth.KeyFile == "" }

func newDraft(apps []App) *draft {
	d := &draft{labNodes: site.DefaultLabNodes, cat: newCatalog(apps)}
	for _, a := range apps {
		if a.Default {
			d.cat.chosen[a.Name] = true
		}
	}
	return d
}

// draftFrom starts a draft from an existing site file.
func draftFrom(s *site.Site, apps []App) *draft {
	d := newDraft(apps)
	d.cat.chosen = map[string]bool{}
	d.base = s
	d.topology = s.Topology
	if s.Lab != nil && s.Lab.Nodes > 0 {
		d.labNodes = s.Lab.Nodes
	}
	for _, h := range s.Hosts {
		d.hosts = append(d.hosts, &hostDraft{Host: h})
	}
	d.domain, d.email, d.tls = s.Domain, s.AdminEmail, s.TLS.Mode
	for name := range s.Components {
		d.cat.chosen[name] = true
	}
	o := s.Components[directoryApp].Options
	str := func(k string) string { v, _ := o[k].(string); return v }
	d.admin = firstAdmin{User: str("first_admin"), Name: str("first_admin_name"), Email: str("first_admin_email")}
	return d
}

// passwordRef and sudoRef name the secrets of a host's passwords.
func passwordRef(host string) string { return host + "-password" }
func sudoRef(host string) string     { return host + "-sudo" }

// site builds the site file from the answers. Defaults are left to apply
// (steps/site fills them), except what the user chose explicitly.
func (d *draft) site() *site.Site {
	s := &site.Site{Version: site.Version}
	if d.base != nil {
		cp := *d.base
		s = &cp
	}
	s.Topology, s.Domain, s.AdminEmail = d.topology, d.domain, d.email
	s.TLS.Mode = d.tls
	s.Hosts = nil
	for _, h := range d.hosts {
		sh := h.Host
		switch sh.Auth.Method {
		case site.AuthPassword:
			sh.Auth.KeyFile = ""
			if sh.Auth.PasswordRef == "" || h.Password != "" {
				sh.Auth.PasswordRef = passwordRef(sh.Name)
			}
		default:
			sh.Auth.PasswordRef = ""
			if sh.Auth.Method == site.AuthAgent {
				sh.Auth.KeyFile = ""
			}
		}
		if h.SudoPassword != "" {
			sh.SudoPasswordRef = sudoRef(sh.Name)
		} else if sh.Sudo != nil && !*sh.Sudo {
			sh.SudoPasswordRef = ""
		}
		s.Hosts = append(s.Hosts, sh)
	}
	if d.topology == site.TopologyLab {
		if len(d.hosts) == 0 {
			if s.Lab == nil {
				s.Lab = &site.Lab{}
			} else {
				lab := *s.Lab
				s.Lab = &lab
			}
			s.Lab.Nodes = d.labNodes
		}
	} else if d.base == nil || d.base.Topology != d.topology {
		s.Lab = nil
	}
	d.applyAdvanced(s)
	s.Components = nil
	if sel := d.cat.selected(); len(sel) > 0 {
		s.Components = map[string]site.Component{}
		for _, name := range sel {
			c := site.Component{}
			if d.base != nil {
				c = d.base.Components[name]
			}
			if name == directoryApp && d.admin.User != "" {
				opts := map[string]any{}
				for k, v := range c.Options {
					opts[k] = v
				}
				opts["first_admin"], opts["first_admin_name"], opts["first_admin_email"] = d.admin.User, d.admin.Name, d.admin.Email
				c.Options = opts
			}
			s.Components[name] = c
		}
	}
	return s
}

// secrets are the passwords typed, by the name the site refers to them.
func (d *draft) secrets() map[string]string {
	out := map[string]string{}
	for _, h := range d.hosts {
		if h.Auth.Method == site.AuthPassword && h.Password != "" {
			out[passwordRef(h.Name)] = h.Password
		}
		if h.SudoPassword != "" {
			out[sudoRef(h.Name)] = h.SudoPassword
		}
	}
	return out
}

// withDefaults is the site as apply will see it.
func (d *draft) withDefaults() *site.Site {
	s := d.site()
	s.ApplyDefaults()
	return s
}

// validate checks the whole site as apply will: nil when it is complete.
func (d *draft) validate() error { return d.withDefaults().Validate(d.cat) }

// hostsProblem says what the host list lacks for the topology, or "".
func (d *draft) hostsProblem() string {
	s := d.withDefaults()
	err := s.Validate(nil)
	es, _ := err.(site.Errors)
	for _, e := range es {
		if e.Field == "hosts" || strings.HasPrefix(e.Field, "hosts[") {
			return e.Error()
		}
	}
	return ""
}

// keyProblem names a host whose key is still to be installed, or "".
func (d *draft) keyProblem() string {
	for _, h := range d.hosts {
		if h.keyPending() {
			return h.Name + " has only a password so far: press t to log in once with it and install collabstack's key (or edit the host to keep logging in with the password)"
		}
	}
	return ""
}

// hostNames are the names of the hosts except skip.
func (d *draft) hostNames(skip *hostDraft) []string {
	var out []string
	for _, h := range d.hosts {
		if h != skip {
			out = append(out, h.Name)
		}
	}
	return out
}

// hardware is what the tested hosts offer the components.
func (d *draft) hardware() hardware {
	var hw hardware
	if d.topology == site.TopologyLab && len(d.hosts) == 0 {
		if d.localFacts != nil {
			hw.Hosts = []string{"this machine"}
			hw.RAMMB, hw.DiskGB = d.localFacts.RAMMB, d.localFacts.DiskGB
		} else {
			hw.Untested = []string{"this machine"}
		}
		return hw
	}
	for _, h := range d.hosts {
		if !appRoles[h.Role] {
			continue
		}
		if h.Facts == nil {
			hw.Untested = append(hw.Untested, h.Name)
			continue
		}
		hw.Hosts = append(hw.Hosts, h.Name)
		hw.RAMMB += h.Facts.RAMMB
		hw.DiskGB += h.Facts.DiskGB
	}
	return hw
}

// nextRole is the role a new host most likely has: the first one the
// topology still needs.
func (d *draft) nextRole() string {
	t := topologyOf(d.topology)
	have := map[string]int{}
	for _, h := range d.hosts {
		have[h.Role]++
	}
	for _, r := range t.Required {
		if have[r] == 0 {
			return r
		}
	}
	if d.topology == site.TopologyKopnik && have[site.RoleStandby] == 0 {
		return site.RoleStandby
	}
	if len(t.Roles) > 1 && d.topology != site.TopologySingle && d.topology != site.TopologyFull {
		return site.RoleWorker
	}
	return t.Roles[0]
}

// nextName suggests a name for a new host of role.
func (d *draft) nextName(role string) string {
	base := map[string]string{
		site.RoleManager: "main", site.RoleStandby: "standby", site.RoleWorker: "worker",
		site.RolePVEServer: "server", site.RolePVERouter: "router", site.RoleRouter: "openwrt", site.RoleVPN: "vpn",
	}[role]
	if base == "" {
		base = "host"
	}
	taken := map[string]bool{}
	for _, n := range d.hostNames(nil) {
		taken[n] = true
	}
	if !taken[base] && role != site.RoleWorker {
		return base
	}
	for i := 1; ; i++ {
		if n := fmt.Sprintf("%s-%d", base, i); !taken[n] {
			return n
		}
	}
}

// factsLine describes a host's facts on one line.
func factsLine(f HostFacts) string {
	var parts []string
	if f.OS != "" {
		parts = append(parts, f.OS)
	}
	if f.Cores > 0 {
		parts = append(parts, fmt.Sprintf("%d cores", f.Cores))
	}
	if f.RAMMB > 0 {
		parts = append(parts, mb(f.RAMMB)+" RAM")
	}
	if f.DiskGB > 0 {
		parts = append(parts, fmt.Sprintf("%d GB free", f.DiskGB))
	}
	return strings.Join(parts, " · ")
}

// summary describes the site in a line.
func (d *draft) summary() string {
	parts := []string{"topology " + d.topology}
	if d.topology == site.TopologyLab && len(d.hosts) == 0 {
		parts = append(parts, fmt.Sprintf("%d lab nodes", d.labNodes))
	} else {
		parts = append(parts, plural(len(d.hosts), "host"))
	}
	parts = append(parts, "domain "+d.domain, "admin "+d.email, "TLS "+d.tls)
	return strings.Join(parts, " · ")
}

// componentsLine lists the chosen components.
func (d *draft) componentsLine() string {
	sel := d.cat.selected()
	if len(sel) == 0 {
		return "none"
	}
	sort.SliceStable(sel, func(i, j int) bool { return d.cat.order(sel[i]) < d.cat.order(sel[j]) })
	return strings.Join(sel, ", ")
}

// plural says "1 host", "2 hosts".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
