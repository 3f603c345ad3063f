package health

import (
	"fmt"
	"strings"
)

// Probe kinds.
const (
	KindHTTP = "http" // GET through the edge: status and a text on the page
	KindWS   = "ws"   // a websocket upgrade through the edge (101)
	KindTCP  = "tcp"  // a published port accepts connections (or a TLS handshake)
	KindExec = "exec" // a command in a running container prints a text
)

// Probe is how a user would see a component working. HTTP and websocket
// probes go through the edge on the manager with the right Host name
// (curl --resolve), so TLS, the vhost and the routing are tested too.
type Probe struct {
	Kind string
	// Host is the name the edge serves (http, ws) or the TLS name (tcp).
	Host string
	// Port is the edge's HTTPS port (http, ws) or the published port (tcp).
	Port int
	// Path starts with / (http, ws).
	Path string
	// Status is the HTTP status expected (http); 0 takes any status
	// below 500: the edge reached the app and it answered.
	Status int
	// Text must appear in the page (http) or the command's output (exec).
	Text string
	// Protocol is the websocket subprotocol offered (ws), such as wamp.2.json.
	Protocol string
	// Service is the swarm service (stack_service) for tcp and exec.
	Service string
	// TLS: the tcp port speaks TLS.
	TLS bool
	// Command runs with sh -c in the container (exec).
	Command string
}

// HTTP is a probe of https://host:port/path through the edge expecting
// status and, unless text is "", that text on the page.
func HTTP(host string, port int, path string, status int, text string) Probe {
	return Probe{Kind: KindHTTP, Host: host, Port: port, Path: path, Status: status, Text: text}
}

// WS is a probe of a websocket upgrade (101) of https://host:port/path,
// offering protocol ("" offers none).
func WS(host string, port int, path, protocol string) Probe {
	return Probe{Kind: KindWS, Host: host, Port: port, Path: path, Protocol: protocol}
}

// TCP is a probe of a port service publishes; tls also asks for a TLS
// handshake with the name host.
func TCP(service string, port int, tls bool, host string) Probe {
	return Probe{Kind: KindTCP, Service: service, Port: port, TLS: tls, Host: host}
}

// Exec is a probe running command (sh -c) in a running container of
// service; it passes when it exits 0 and prints text ("" for any).
func Exec(service, command, text string) Probe {
	return Probe{Kind: KindExec, Service: service, Command: command, Text: text}
}

// String says what the probe tries, for a person.
func (p Probe) String() string {
	switch p.Kind {
	case KindHTTP:
		s := fmt.Sprintf("GET %s → %d", p.URL(), p.Status)
		if p.Status == 0 {
			s = "GET " + p.URL() + " → an answer below 500"
		}
		if p.Text != "" {
			s += fmt.Sprintf(" with %q", p.Text)
		}
		return s
	case KindWS:
		return "websocket " + strings.Replace(p.URL(), "https://", "wss://", 1) + " → 101"
	case KindTCP:
		if p.TLS {
			return fmt.Sprintf("TLS on port %d of %s", p.Port, p.Service)
		}
		return fmt.Sprintf("TCP port %d of %s", p.Port, p.Service)
	case KindExec:
		return fmt.Sprintf("`%s` in %s", p.Command, p.Service)
	}
	return p.Kind
}

// URL is the address an http or ws probe opens ("" for others).
func (p Probe) URL() string {
	if p.Kind != KindHTTP && p.Kind != KindWS {
		return ""
	}
	u := "https://" + p.Host
	if p.Port != 443 && p.Port != 0 {
		u += fmt.Sprintf(":%d", p.Port)
	}
	return u + p.Path
}

// Check says what is wrong with a probe, nil when it can run.
func (p Probe) Check() error {
	switch p.Kind {
	case KindHTTP, KindWS:
		if p.Host == "" || p.Port < 1 || p.Port > 65535 || !strings.HasPrefix(p.Path, "/") {
			return fmt.Errorf("%s probe: give a host, a port and a path starting with /", p.Kind)
		}
		if p.Kind == KindHTTP && p.Status != 0 && (p.Status < 100 || p.Status > 599) {
			return fmt.Errorf("http probe: status %d is not an HTTP status", p.Status)
		}
	case KindTCP:
		if p.Service == "" || p.Port < 1 || p.Port > 65535 {
			return fmt.Errorf("tcp probe: give a service and a port")
		}
	case KindExec:
		if p.Service == "" || strings.TrimSpace(p.Command) == "" {
			return fmt.Errorf("exec probe: give a service and a command")
		}
	default:
		return fmt.Errorf("probe kind %q: use http, ws, tcp or exec", p.Kind)
	}
	return nil
}

// Result is what one probe found.
type Result struct {
	Probe Probe
	OK    bool
	// Detail says what answered ("HTTP 200") or why it failed.
	Detail string
	// Elsewhere names the node running the container of an exec probe
	// when it is not the host the probes ran on.
	Elsewhere string
}

// Mark is ✓ or ✗.
func (r Result) Mark() string {
	if r.OK {
		return "✓"
	}
	return "✗"
}
