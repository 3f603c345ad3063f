package apps

import (
	"fmt"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/health"
)

// AppProbe is how a user sees an app working (app.yaml `probe:`): a page
// through the edge, a websocket upgrade, a published port, a command in a
// container, or a port its container listens on. A deploy waits until it
// passes; status and every re-run check it.
type AppProbe struct {
	// HTTP: GET https://<subdomain>.<domain><path> through the edge
	// answers status (omitted: any status below 500) with text on the page.
	HTTP *struct {
		Path   string `yaml:"path"`
		Status int    `yaml:"status,omitempty"`
		Text   string `yaml:"text,omitempty"`
	} `yaml:"http,omitempty"`
	// WS: the path upgrades to a websocket through the edge.
	WS *struct {
		Path     string `yaml:"path"`
		Protocol string `yaml:"protocol,omitempty"`
	} `yaml:"ws,omitempty"`
	// TCP: a port the app publishes accepts connections (tls: and
	// completes a TLS handshake for the app's name).
	TCP *struct {
		Port    int    `yaml:"port"`
		TLS     bool   `yaml:"tls,omitempty"`
		Service string `yaml:"service,omitempty"`
	} `yaml:"tcp,omitempty"`
	// Exec: command (sh -c) in a running container of service (default
	// the app's) exits 0 and prints text.
	Exec *struct {
		Service string `yaml:"service,omitempty"`
		Command string `yaml:"command"`
		Text    string `yaml:"text,omitempty"`
	} `yaml:"exec,omitempty"`
	// Listen: the container of service listens on port (from
	// /proc/net, so it needs no tool in the image): for backends with
	// neither a client in the image nor a published port.
	Listen *struct {
		Service  string `yaml:"service,omitempty"`
		Port     int    `yaml:"port"`
		Protocol string `yaml:"protocol,omitempty"`
	} `yaml:"listen,omitempty"`
	// Start bounds how long the app may take after a deploy to run and
	// answer (default 5m; big Java apps need more).
	Start string `yaml:"start,omitempty"`
	// Note says why this probe, and whether it was verified against the
	// running app or chosen conservatively.
	Note string `yaml:"note,omitempty"`

	start time.Duration
}

// checkProbe validates an app's probe; bad reports each problem.
func checkProbe(a *App, bad func(field, format string, args ...any)) {
	p := a.Probe
	if p == nil {
		bad("probe", "say how a user sees the app working (http, ws, tcp, exec or listen)")
		return
	}
	if p.HTTP == nil && p.WS == nil && p.TCP == nil && p.Exec == nil && p.Listen == nil {
		bad("probe", "give at least one of http, ws, tcp, exec or listen")
	}
	if (p.HTTP != nil || p.WS != nil) && !a.Web && a.Kind != KindEdge {
		bad("probe", "http and ws probes go through the edge: only web apps have them")
	}
	if h := p.HTTP; h != nil {
		if !strings.HasPrefix(h.Path, "/") {
			bad("probe.http.path", "%q must start with /", h.Path)
		}
		if h.Status != 0 && (h.Status < 100 || h.Status > 599) {
			bad("probe.http.status", "%d is not an HTTP status", h.Status)
		}
	}
	if w := p.WS; w != nil && !strings.HasPrefix(w.Path, "/") {
		bad("probe.ws.path", "%q must start with /", w.Path)
	}
	service := func(field, s string) {
		if _, ok := a.Images[s]; s != "" && !ok {
			bad(field, "%q is not a service of the app", s)
		}
	}
	if t := p.TCP; t != nil {
		service("probe.tcp.service", t.Service)
		published := false
		for _, port := range a.Ports {
			published = published || (port.Protocol == "tcp" && port.Port == t.Port)
		}
		if !published && a.Kind != KindEdge {
			bad("probe.tcp.port", "%d is not a tcp port the app publishes (ports)", t.Port)
		}
	}
	if e := p.Exec; e != nil {
		service("probe.exec.service", e.Service)
		if strings.TrimSpace(e.Command) == "" {
			bad("probe.exec.command", "missing")
		}
	}
	if l := p.Listen; l != nil {
		service("probe.listen.service", l.Service)
		if l.Port < 1 || l.Port > 65535 {
			bad("probe.listen.port", "%d is not a port", l.Port)
		}
		if l.Protocol != "" && l.Protocol != "tcp" && l.Protocol != "udp" {
			bad("probe.listen.protocol", "%q: use tcp or udp", l.Protocol)
		}
	}
	p.start = health.DefaultTimeout
	if p.Start != "" {
		d, err := time.ParseDuration(p.Start)
		if err != nil || d < 30*time.Second || d > time.Hour {
			bad("probe.start", "%q: give a duration from 30s to 1h, such as 10m", p.Start)
		} else {
			p.start = d
		}
	}
}

// StartTimeout is how long the app may take after a deploy to converge
// and pass its probe.
func (a *App) StartTimeout() time.Duration {
	if a.Probe == nil || a.Probe.start == 0 {
		return health.DefaultTimeout
	}
	return a.Probe.start
}

// Probes are the app's probes for the site: HTTP and websocket probes
// through the edge on the app's name (the edge itself: a TLS handshake
// for the bare domain on its HTTPS port).
func (c *Catalog) Probes(app string, in RenderInput) []health.Probe {
	a, ok := c.apps[app]
	if !ok || a.Probe == nil {
		return nil
	}
	p := a.Probe
	_, https, _ := c.EdgePorts(in)
	name := c.Host(app, in.Domain)
	svc := func(s string) string {
		if s == "" {
			s = a.Service
		}
		return ServiceName(app, s)
	}
	var out []health.Probe
	if h := p.HTTP; h != nil && name != "" {
		out = append(out, health.HTTP(name, https, h.Path, h.Status, h.Text))
	}
	if w := p.WS; w != nil && name != "" {
		out = append(out, health.WS(name, https, w.Path, w.Protocol))
	}
	if t := p.TCP; t != nil {
		port, host := t.Port, name
		if a.Kind == KindEdge {
			port, host = https, in.Domain
		}
		out = append(out, health.TCP(svc(t.Service), port, t.TLS, host))
	}
	if e := p.Exec; e != nil {
		out = append(out, health.Exec(svc(e.Service), e.Command, e.Text))
	}
	if l := p.Listen; l != nil {
		out = append(out, health.Exec(svc(l.Service), ListenCommand(l.Port, l.Protocol), ""))
	}
	return out
}

// ListenCommand is a shell command that exits 0 when something in the
// container listens on port (tcp, or udp: bound), read from /proc/net so
// it needs only grep in the image.
func ListenCommand(port int, protocol string) string {
	if protocol == "udp" {
		return fmt.Sprintf("grep -qiE '^ *[0-9]+: [0-9A-F]+:%04X ' /proc/net/udp /proc/net/udp6", port)
	}
	return fmt.Sprintf("grep -qiE '^ *[0-9]+: [0-9A-F]+:%04X [0-9A-F]+:[0-9A-F]+ 0A ' /proc/net/tcp /proc/net/tcp6", port)
}
