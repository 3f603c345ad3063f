package lifecycle

import (
	"bytes"
	"context"
	"fmt"
	htmltemplate "html/template"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/atomicfile"
	"github.com/collabstack/collabstack/steps/firewall"
	"github.com/collabstack/collabstack/steps/network"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sitemodel"
	"github.com/collabstack/collabstack/templates"
)

// Runbook files in the state directory, written after every apply.
const (
	RunbookMarkdown = "runbook.md"
	RunbookHTML     = "runbook.html"
)

// RunbookData is what the runbook templates (templates/runbook/) get:
// everything derived from the live site file, so it never goes stale.
type RunbookData struct {
	Site, Domain, Topology, TLS string
	SiteFile, StateDir          string
	SecretsFile, CAFile         string
	Version, Generated          string
	Hosts                       []RunbookHost
	Kopnik                      bool
	Apps                        []RunbookApp
	Backup                      *RunbookBackup
	// Standby is the host of role standby (kopnik's failover), "".
	Standby, Manager string
	FirewallOff      bool
	Firewall         []RunbookPort
	DNS              []RunbookRecord
	// PublicIPv4 is network.public_ipv4, "" when the site file lacks it.
	PublicIPv4 string
}

// RunbookHost is one host and what it is for.
type RunbookHost struct {
	Name, Address, Role, Does string
	SSH                       string
}

// RunbookApp is one app: where it answers, its admin and its secrets.
type RunbookApp struct {
	Name, Title, URL, Admin string
	// Secrets are the names of its secrets in the secrets file.
	Secrets []string
	Ports   string
}

// RunbookBackup is the backup section, defaults filled.
type RunbookBackup struct {
	Schedule, Keep string
	Repositories   []string
}

// RunbookPort is one line of the firewall table.
type RunbookPort struct {
	Host, Port, Who, Why string
}

// RunbookRecord is one public DNS record to create.
type RunbookRecord struct {
	Type, Name, Value string
}

// roleDoes says what each role is for, in plain words.
var roleDoes = map[string]string{
	site.RoleManager:   "swarm manager: the edge (web entrance), the registry, Portainer, the infra apps",
	site.RoleWorker:    "swarm worker: the apps placed on common",
	site.RoleStandby:   "kopnik's standby: a hot copy of the database and the upload folder",
	site.RolePVEServer: "Proxmox VE: the swarm's virtual machines",
	site.RolePVERouter: "Proxmox VE: the router's virtual machines",
	site.RoleRouter:    "OpenWrt router: LAN, WAN, DHCP, DNS",
	site.RoleVPN:       "SoftEther VPN and the split DNS",
}

// noAnswer is a resolver that knows no name: the runbook lists the
// records to create without asking any DNS server.
type noAnswer struct{}

func (noAnswer) LookupIP(context.Context, string, string) ([]net.IP, error) {
	return nil, &net.DNSError{Err: "not asked", IsNotFound: true}
}
func (noAnswer) LookupMX(context.Context, string) ([]*net.MX, error) {
	return nil, &net.DNSError{Err: "not asked", IsNotFound: true}
}

// RunbookFor derives the runbook of s, whose hosts are hosts (the site
// file's, or a lab's nodes), from the site model, the catalog, the
// backup section, the firewall's ports and the DNS records.
func RunbookFor(s *site.Site, hosts []site.Host, sitePath, version string, now time.Time) (*RunbookData, error) {
	c, err := apps.Default()
	if err != nil {
		return nil, err
	}
	m, err := sitemodel.With(s, c)
	if err != nil {
		return nil, err
	}
	chosen, err := c.Selected(s)
	if err != nil {
		return nil, err
	}
	d := &RunbookData{
		Site: s.Name, Domain: s.Domain, Topology: s.Topology, TLS: s.TLS.Mode,
		SiteFile: sitePath, StateDir: s.StateDir,
		SecretsFile: filepath.Join(s.StateDir, "secrets.yaml"),
		Version:     version, Generated: now.UTC().Format("2006-01-02 15:04 MST"),
		Kopnik: m.Kopnik, FirewallOff: s.Firewall.Off,
	}
	if d.TLS == "" {
		d.TLS = site.TLSLetsEncrypt
	}
	if s.TLS.Mode == site.TLSSelfSigned {
		d.CAFile = filepath.Join(s.StateDir, "site-ca.pem")
	}
	if s.Network != nil {
		d.PublicIPv4 = s.Network.PublicIPv4
	}
	var members []site.Host
	for _, h := range hosts {
		rh := RunbookHost{Name: h.Name, Address: h.Address, Role: h.Role, Does: roleDoes[h.Role]}
		if rh.Address == "" {
			rh.Address = "(given when it runs)"
		}
		user, port := h.User, h.Port
		if user == "" {
			user = "root"
		}
		if port == 0 {
			port = 22
		}
		rh.SSH = fmt.Sprintf("ssh -p %d %s@%s", port, user, h.Address)
		if h.Address == "" {
			rh.SSH = ""
		}
		d.Hosts = append(d.Hosts, rh)
		switch h.Role {
		case site.RoleManager:
			if d.Manager == "" {
				d.Manager = h.Name
			}
			members = append(members, h)
		case site.RoleWorker:
			members = append(members, h)
		case site.RoleStandby:
			d.Standby = h.Name
			members = append(members, h)
		}
	}
	for _, a := range m.Apps {
		ca, _ := c.Get(a.Name)
		ra := RunbookApp{Name: a.Name, Title: a.Title, URL: a.URL, Admin: strings.ReplaceAll(a.Admin, "<domain>", s.Domain)}
		ra.Secrets = appSecrets(c, s, chosen, a.Name, ca.Secrets)
		var ports []string
		for _, p := range a.Ports {
			ports = append(ports, portText(p.Port, p.Range, p.Protocol))
		}
		if a.Name == apps.EdgeName && m.EdgeHTTP != 0 {
			ports = []string{portText(m.EdgeHTTP, 0, "tcp"), portText(m.EdgeHTTPS, 0, "tcp")}
		}
		ra.Ports = strings.Join(ports, ", ")
		d.Apps = append(d.Apps, ra)
	}
	if b := s.Backup; b != nil {
		cp := *s
		bc := *b
		bc.Repositories = slices.Clone(b.Repositories)
		cp.Backup = &bc
		cp.BackupDefaults()
		rb := &RunbookBackup{Schedule: bc.Schedule, Keep: fmt.Sprintf("%d daily, %d weekly, %d monthly", bc.Keep.Daily, bc.Keep.Weekly, bc.Keep.Monthly)}
		for _, r := range bc.Repositories {
			where := r.URL
			switch {
			case r.Kind == site.RepoGarage:
				where = "bucket " + r.Bucket + " in this site's Garage: not offsite"
			case r.Kind == site.RepoS3:
				where = "s3 " + site.S3Endpoint(r.Endpoint) + "/" + r.Bucket
				if p := strings.Trim(r.Path, "/"); p != "" {
					where += "/" + p
				}
			case r.Host != "":
				where = r.Host + ":" + r.Path
			case r.URL == "":
				where = r.Path + " on each node"
			}
			rb.Repositories = append(rb.Repositories, r.Name+" ("+where+")")
		}
		d.Backup = rb
	}
	if !s.Firewall.Off && len(members) > 0 {
		d.Firewall = firewallRows(s, m, d.Manager)
	}
	recs, err := network.DNSCheck(context.Background(), s, noAnswer{})
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		v := strings.Join(r.Want, ", ")
		if v == "" {
			v = "your public IPv4 address"
		}
		if r.Type == "MX" {
			v = "10 " + strings.TrimSuffix(v, ".")
		}
		d.DNS = append(d.DNS, RunbookRecord{Type: r.Type, Name: r.Name, Value: v})
	}
	return d, nil
}

// appSecrets are the names of the secrets an app's stack and configs use
// (rendered with a secret source that only notes the names) and of its
// swarm secrets: where its passwords are kept.
func appSecrets(c *apps.Catalog, s *site.Site, chosen []string, app string, swarmSecrets []string) []string {
	seen := map[string]bool{}
	for _, n := range swarmSecrets {
		seen[apps.SecretName(app, n)] = true
	}
	in := apps.InputFor(s, chosen, func(name string) (string, error) {
		if strings.HasPrefix(name, app+"-") {
			seen[name] = true
		}
		return "x" + strings.Repeat("0", 31), nil
	})
	c.Render(app, in) // only the names it asks for matter here
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func portText(port, to int, proto string) string {
	p := strconv.Itoa(port)
	if to > port {
		p += "-" + strconv.Itoa(to)
	}
	if proto == "" {
		proto = "tcp"
	}
	return p + "/" + proto
}

// firewallRows is the table of docs/security.md for this site: what each
// host opens, to whom.
func firewallRows(s *site.Site, m *sitemodel.Model, manager string) []RunbookPort {
	admin := "the admin networks: " + strings.Join(s.Firewall.AdminNetworks, ", ")
	if len(s.Firewall.AdminNetworks) == 0 {
		admin = "the address collabstack connects from and the hosts' private networks (set firewall.admin_networks to name them)"
	}
	rows := []RunbookPort{{Host: "every prepared host", Port: "SSH", Who: admin, Why: "administration"}}
	web := []string{"80/tcp", "443/tcp"}
	if m.EdgeHTTP != 0 && (m.EdgeHTTP != 80 || m.EdgeHTTPS != 443) {
		web = append(web, portText(m.EdgeHTTP, 0, "tcp"), portText(m.EdgeHTTPS, 0, "tcp"))
	}
	rows = append(rows, RunbookPort{Host: manager, Port: strings.Join(web, ", "), Who: "everyone", Why: "the web apps through the edge; HTTP-01 and a redirect to HTTPS"})
	for _, a := range m.Apps {
		var ports []string
		for _, p := range a.Ports {
			ports = append(ports, portText(p.Port, p.Range, p.Protocol))
		}
		if len(ports) > 0 && a.Name != apps.EdgeName {
			rows = append(rows, RunbookPort{Host: "where " + a.Name + " runs", Port: strings.Join(ports, ", "), Who: "everyone", Why: a.Title})
		}
	}
	var adm []string
	for _, p := range firewall.AdminPorts {
		adm = append(adm, portText(p, 0, "tcp"))
	}
	rows = append(rows,
		RunbookPort{Host: manager, Port: strings.Join(adm, ", "), Who: "the LAN, the admin networks and the swarm members", Why: "Portainer and the site's registry"},
		RunbookPort{Host: "swarm members", Port: strings.Join(firewall.SwarmPorts, ", "), Who: "the other swarm members", Why: "swarm management, gossip, overlay network"},
		RunbookPort{Host: "every prepared host", Port: "anything else", Who: "nobody (dropped)", Why: ""})
	return rows
}

// cell makes a value fit one Markdown table cell.
func cell(v string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(v)
}

// RenderRunbook renders the runbook as Markdown and as HTML.
func RenderRunbook(d *RunbookData) (md, html []byte, err error) {
	md, err = templates.Render("runbook/runbook.md.tmpl", d, template.FuncMap{"cell": cell, "join": strings.Join})
	if err != nil {
		return nil, nil, err
	}
	t, err := htmltemplate.New("runbook.html.tmpl").Funcs(htmltemplate.FuncMap{"join": strings.Join}).ParseFS(templates.FS, "runbook/runbook.html.tmpl")
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, nil, err
	}
	return md, b.Bytes(), nil
}

// WriteRunbook writes runbook.md and runbook.html (0600: they name
// hosts and accounts) into dir and returns their paths.
func WriteRunbook(dir string, d *RunbookData) (string, string, error) {
	md, html, err := RenderRunbook(d)
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	mp, hp := filepath.Join(dir, RunbookMarkdown), filepath.Join(dir, RunbookHTML)
	if err := atomicfile.Write(mp, md, 0o600); err != nil {
		return "", "", err
	}
	return mp, hp, atomicfile.Write(hp, html, 0o600)
}
