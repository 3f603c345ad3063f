package proxmox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	px "github.com/luthermonson/go-proxmox"

	"github.com/collabstack/collabstack/steps/engine"
)

// API is the Proxmox VE API of one PVE host, reached through go-proxmox
// with an API token over TLS pinned in Pins.
type API struct {
	// Host is the site-file name of the PVE host.
	Host string
	// URL is the API base (https://ADDRESS:8006/api2/json).
	URL string

	client *px.Client
	pins   *Pins
	addr   string

	mu   sync.Mutex
	node string
}

// Config says how to reach one API.
type Config struct {
	// Host is the site-file name of the PVE host (pins and messages).
	Host string
	// URL is the API base, https://ADDRESS:8006/api2/json.
	URL string
	// TokenID ("collabstack@pve!collabstack") and Secret (the UUID
	// pveum printed once) make the header
	// Authorization: PVEAPIToken=TOKENID=SECRET.
	TokenID, Secret string
	// Pins holds the pinned certificate fingerprints (nil: in memory).
	Pins *Pins
	// Timeout bounds one request (default 60 s).
	Timeout time.Duration
	// DialContext, when set, opens the TCP connections (a tunnel).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultPort is the port of pveproxy.
const DefaultPort = 8006

// APIURL is the API base of a PVE host at address.
func APIURL(address string) string {
	return "https://" + net.JoinHostPort(address, fmt.Sprint(DefaultPort)) + "/api2/json"
}

// Connect makes the API client. It opens no connection: the certificate
// is checked (and pinned on first use) by the first call.
func Connect(c Config) (*API, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("PVE API URL %q of %s: want https://ADDRESS:8006/api2/json", c.URL, c.Host)
	}
	addr := apiAddr(u)
	if c.Pins == nil {
		c.Pins, _ = OpenPins("")
	}
	if c.Timeout <= 0 {
		c.Timeout = 60 * time.Second
	}
	a := &API{Host: c.Host, URL: strings.TrimSuffix(c.URL, "/"), pins: c.Pins, addr: addr}
	tr := &http.Transport{
		// No proxy from the environment: the token must go to the node.
		Proxy:       nil,
		DialContext: c.DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// PVE's certificate is self-signed by the cluster's own CA:
			// it is judged by its pinned fingerprint instead of a chain.
			InsecureSkipVerify: true,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 {
					return fmt.Errorf("the PVE API on %s (%s) sent no certificate", c.Host, addr)
				}
				return c.Pins.Check(c.Host, addr, raw[0])
			},
		},
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: c.Timeout,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
	if tr.DialContext == nil {
		tr.DialContext = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	hc := &http.Client{Transport: &statusRecorder{next: tr}, Timeout: c.Timeout}
	a.client = px.NewClient(a.URL,
		px.WithHTTPClient(hc),
		px.WithAPIToken(c.TokenID, c.Secret),
		px.WithUserAgent("collabstack"),
	)
	return a, nil
}

// apiAddr is host:port of an API URL, the key of its pin.
func apiAddr(u *url.URL) string {
	if u.Port() == "" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return u.Host
}

// Client is the go-proxmox client, for calls this package does not wrap.
func (a *API) Client() *px.Client { return a.client }

// statusRecorder keeps the status line of refused requests: go-proxmox
// turns 401 and 403 into ErrNotAuthorized, and the line says which
// privilege on which path was missing.
type statusRecorder struct{ next http.RoundTripper }

type statusKey struct{}

type refusal struct {
	mu     sync.Mutex
	status string
}

func (r *statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := r.next.RoundTrip(req)
	if err == nil && (res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden) {
		if rec, ok := req.Context().Value(statusKey{}).(*refusal); ok {
			rec.mu.Lock()
			rec.status = res.Status
			rec.mu.Unlock()
		}
	}
	return res, err
}

// do runs one or more go-proxmox calls and turns their errors into ones
// that say what failed and what to do.
func (a *API) do(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	rec := &refusal{}
	err := fn(context.WithValue(ctx, statusKey{}, rec))
	if err == nil {
		return nil
	}
	rec.mu.Lock()
	status := rec.status
	rec.mu.Unlock()
	return a.explain(what, err, status)
}

func (a *API) explain(what string, err error, status string) error {
	var mismatch *CertMismatchError
	switch {
	case errors.As(err, &mismatch):
		return engine.WithHint(fmt.Errorf("%s: %w", what, mismatch), "nothing was sent to the API; find out why %s's certificate changed before trusting it", a.Host)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s on %s: %w", what, a.Host, err)
	case px.IsNotAuthorized(err) && strings.HasPrefix(status, "403"):
		return engine.WithHint(fmt.Errorf("%s on %s: the API refused: %s: %w", what, a.Host, status, err),
			"the API token's role %s lacks a privilege; run apply again so the token step sets the role's privileges (`pveum role list` on %s shows them)", RoleID, a.Host)
	case px.IsNotAuthorized(err):
		if status == "" {
			status = "401"
		}
		return engine.WithHint(fmt.Errorf("%s on %s: the API refused the token (%s): %w", what, a.Host, status, err),
			"run apply again: the token step makes a new token when the stored one is refused (`pveum user token list %s` on %s lists the tokens)", UserID, a.Host)
	case strings.HasPrefix(err.Error(), "bad request"):
		return engine.WithHint(fmt.Errorf("%s on %s: %w", what, a.Host, err),
			"PVE refused a parameter (named above); collabstack needs Proxmox VE 8.3 or later (`pveversion` on %s)", a.Host)
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return engine.WithHint(fmt.Errorf("%s on %s: %w", what, a.Host, err),
			"check that pveproxy runs on %s (`systemctl status pveproxy`) and that %s is reachable from this machine", a.Host, a.addr)
	}
	return engine.WithHint(fmt.Errorf("%s on %s: %w", what, a.Host, err), "the message is PVE's; `journalctl -u pvedaemon` on %s has details", a.Host)
}

// Version asks the API for its version; it is also how the token and
// the certificate are checked.
func (a *API) Version(ctx context.Context) (*px.Version, error) {
	var v *px.Version
	err := a.do(ctx, "read the Proxmox VE version", func(ctx context.Context) error {
		var err error
		v, err = a.client.Version(ctx)
		return err
	})
	return v, err
}

// Node returns the node name of the PVE host: the only node of a
// standalone host, or the node whose certificate is the pinned one.
func (a *API) Node(ctx context.Context) (string, error) {
	a.mu.Lock()
	node := a.node
	a.mu.Unlock()
	if node != "" {
		return node, nil
	}
	var nodes px.NodeStatuses
	if err := a.do(ctx, "list the nodes", func(ctx context.Context) error {
		var err error
		nodes, err = a.client.Nodes(ctx)
		return err
	}); err != nil {
		return "", err
	}
	switch {
	case len(nodes) == 1:
		node = nodes[0].Node
	default:
		fp := a.pins.Lookup(a.Host, a.addr)
		for _, n := range nodes {
			if fp != "" && strings.EqualFold(n.SSLFingerprint, fp) {
				node = n.Node
			}
		}
	}
	if node == "" {
		return "", engine.WithHint(fmt.Errorf("find the node of %s among %d nodes", a.Host, len(nodes)), "collabstack works with a standalone Proxmox VE host; give each PVE host its own address in the site file")
	}
	a.mu.Lock()
	a.node = node
	a.mu.Unlock()
	return node, nil
}

// wait polls a worker task until it stops; a task that did not end with
// "OK" is an error with the end of its log.
func (a *API) wait(ctx context.Context, t *px.Task, what string) error {
	if t == nil {
		return nil
	}
	delay := 100 * time.Millisecond
	for {
		if err := a.do(ctx, what, t.Ping); err != nil {
			return err
		}
		if t.IsCompleted {
			if t.IsSuccessful {
				return nil
			}
			return engine.WithHint(fmt.Errorf("%s on %s: the task failed: %s%s", what, a.Host, t.ExitStatus, a.logTail(ctx, t)),
				"the task log is in the PVE web interface (Tasks) or `pvenode task log %s` on %s", t.UPID, a.Host)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s on %s: %w (the task %s goes on)", what, a.Host, ctx.Err(), t.UPID)
		case <-time.After(delay):
		}
		if delay < 2*time.Second {
			delay *= 2
		}
	}
}

func (a *API) logTail(ctx context.Context, t *px.Task) string {
	var log px.Log
	if err := a.do(ctx, "read the task log", func(ctx context.Context) error {
		var err error
		log, err = t.Log(ctx, 0, 500)
		return err
	}); err != nil || len(log) == 0 {
		return ""
	}
	n := len(log)
	var lines []string
	for i := max(0, n-6); i < n; i++ {
		if l, ok := log[i]; ok && !strings.HasPrefix(l, "TASK ") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return " (log: " + strings.Join(lines, " | ") + ")"
}
