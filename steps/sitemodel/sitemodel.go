// Package sitemodel is the site as every concern sees it: the names, URLs
// and ports derived once from the site file and the app catalog. Split
// DNS, `dns check`, the TLS names, the end-of-apply URL list and the
// wizard read them here, so the names the LAN resolves and the names the
// edge serves cannot drift apart.
package sitemodel

import (
	"fmt"
	"slices"
	"strings"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/site"
)

// KopnikComponent is the component name of the kopnik.org preset, which
// serves the bare domain with its own nginx.
const KopnikComponent = "kopnik"

// MailPrefix is the label of the mail host (mail.example.org): the MX
// record points there and it answers SMTP and IMAP.
const MailPrefix = "mail"

// App is one chosen app (or an app a chosen one requires).
type App struct {
	Name  string
	Title string
	// Host is the name the edge serves the app on (cloud.example.org);
	// "" for apps without a web interface.
	Host string
	// URL is where a browser opens the app; "" without a web interface.
	URL string
	// Ports are published on the host for what is not HTTP.
	Ports []apps.Port
	// Admin says where the app's admin account comes from.
	Admin string
}

// Model is the derived view of one site.
type Model struct {
	Domain string
	// Kopnik is set when the kopnik.org preset serves the bare domain.
	Kopnik bool
	// Apps are the chosen apps with everything they require, in the
	// order they are installed.
	Apps []App
	// Mail is the mail host name when an app receives mail (publishes
	// SMTP), else "".
	Mail string
	// EdgeHTTP and EdgeHTTPS are the edge's ports (80 and 443 unless
	// the edge's options say otherwise); 0 without an edge.
	EdgeHTTP, EdgeHTTPS int
	// Ports are the chosen apps' ports that are not the web (git over
	// SSH, RTMP, TURN, media, mail, RADIUS), by app then port: all reach
	// their app at the edge's node, where every name of the site points.
	// The outer router forwards the public ones, the host firewall opens
	// them (the others to the LAN and admin networks only), `dns check`
	// and the end of an apply list them.
	Ports []Port
}

// Port is one of an app's ports that is not the web, and where clients
// reach it.
type Port struct {
	App, Title string
	// Host is the name clients connect to: the app's web name, the mail
	// host for mail, else the domain.
	Host string
	apps.Port
}

// Numbers is the port or range with its protocol: 2223/tcp, 49160-49259/udp.
func (p Port) Numbers() string {
	if p.Range > 0 {
		return fmt.Sprintf("%d-%d/%s", p.Port.Port, p.Range, p.Protocol)
	}
	return fmt.Sprintf("%d/%s", p.Port.Port, p.Protocol)
}

// String says it for a person: "Forgejo: Git over SSH at
// git.example.org:2223/tcp (public, through the edge's stream proxy)".
func (p Port) String() string {
	return fmt.Sprintf("%s: %s at %s:%s (%s)", p.Title, p.Use, p.Host, p.Numbers(), p.Reach())
}

// Reach says who reaches the port and how: "public, through the edge's
// stream proxy".
func (p Port) Reach() string {
	reach := "public"
	if !p.Public {
		reach = "LAN, VPN and admin networks only"
	}
	how := "published on the edge's node"
	if p.Via == apps.ViaEdge {
		how = "through the edge's stream proxy"
	}
	return reach + ", " + how
}

// Of derives the model of s from the embedded catalog.
func Of(s *site.Site) (*Model, error) {
	c, err := apps.Default()
	if err != nil {
		return nil, fmt.Errorf("read the app catalog: %w", err)
	}
	return With(s, c)
}

// With derives the model of s from catalog c.
func With(s *site.Site, c *apps.Catalog) (*Model, error) {
	m := &Model{Domain: s.Domain}
	_, m.Kopnik = s.Components[KopnikComponent]
	chosen, err := c.Selected(s)
	if err != nil {
		return nil, err
	}
	in := apps.InputFor(s, chosen, nil)
	if slices.Contains(chosen, apps.EdgeName) {
		if m.EdgeHTTP, m.EdgeHTTPS, err = c.EdgePorts(in); err != nil {
			return nil, err
		}
	}
	for _, n := range chosen {
		a, _ := c.Get(n)
		app := App{Name: a.Name, Title: a.Title, Ports: a.Ports, Admin: a.Admin, Host: c.Host(n, s.Domain)}
		if app.Host != "" {
			app.URL = c.URL(n, in) + "/"
		}
		mail := false
		for _, p := range a.Ports {
			if p.Port == 25 && p.Protocol == "tcp" {
				m.Mail = MailPrefix + "." + s.Domain
				mail = true
			}
		}
		if a.Kind != apps.KindEdge {
			for _, p := range a.Ports {
				host := s.Domain
				switch {
				case mail:
					host = MailPrefix + "." + s.Domain
				case app.Host != "":
					host = app.Host
				}
				m.Ports = append(m.Ports, Port{App: a.Name, Title: a.Title, Host: host, Port: p})
			}
		}
		m.Apps = append(m.Apps, app)
	}
	slices.SortStableFunc(m.Ports, func(a, b Port) int {
		if a.App != b.App {
			return strings.Compare(a.App, b.App)
		}
		return a.Port.Port - b.Port.Port
	})
	return m, nil
}

// PortNotes are the apps' ports for the end of an apply, one line each.
func (m *Model) PortNotes() []string {
	var out []string
	for _, p := range m.Ports {
		out = append(out, p.String())
	}
	return out
}

// WebHosts are the names the edge serves apps on, sorted; the bare
// domain is not among them.
func (m *Model) WebHosts() []string {
	var out []string
	for _, a := range m.Apps {
		if a.Host != "" {
			out = append(out, a.Host)
		}
	}
	slices.Sort(out)
	return out
}

// PublicNames are every name that must resolve to the site: the domain,
// each app's host and the mail host.
func (m *Model) PublicNames() []string {
	out := append([]string{m.Domain}, m.WebHosts()...)
	if m.Mail != "" {
		out = append(out, m.Mail)
	}
	return out
}

// TLSNames are the names the edge's certificate covers: the domain and
// its wildcard (every app host is one label below the domain).
func (m *Model) TLSNames() []string { return []string{m.Domain, "*." + m.Domain} }

// URLs are the web addresses of the site for the end of an apply: the
// kopnik site first, then every app with a web interface.
func (m *Model) URLs() []string {
	var out []string
	if m.Kopnik {
		out = append(out, "https://"+m.Domain+"/")
	}
	for _, a := range m.Apps {
		if a.URL != "" {
			out = append(out, a.URL)
		}
	}
	return out
}

// App returns the chosen app of that name.
func (m *Model) App(name string) (App, bool) {
	for _, a := range m.Apps {
		if a.Name == name {
			return a, true
		}
	}
	return App{}, false
}
