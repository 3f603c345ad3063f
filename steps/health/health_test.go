package health

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
)

// What docker 20.10 (Debian's docker.io) prints for the formats of
// ServiceFormat and TaskFormat: a healthy service, one crash-looping, one
// still starting (its healthcheck has not passed yet) and a global one.
const dockerOut = "S\tpad_etherpad\treplicated\t0/1\n" +
	"S\tpad_db\treplicated\t1/1\n" +
	"S\tpad_web\treplicated\t0/1\n" +
	"S\tpad_agent\tglobal\t2/2\n" +
	"T\tx1\tpad_etherpad.1\tlab-2\tReady\tPreparing 1 second ago\t\n" +
	"T\tx0\tpad_etherpad.1\tlab-2\tShutdown\tFailed 8 seconds ago\ttask: non-zero exit (1)\n" +
	"T\tx9\t \\_ pad_etherpad.1\tlab-2\tShutdown\tFailed 40 seconds ago\ttask: non-zero exit (1)\n" +
	"T\td1\tpad_db.1\tlab-1\tRunning\tRunning 3 minutes ago\t\n" +
	"T\tw1\tpad_web.1\tlab-1\tRunning\tStarting 12 seconds ago\t\n" +
	"T\ta1\tpad_agent.kq3x\tlab-1\tRunning\tRunning about an hour ago\t\n" +
	"T\ta2\tpad_agent.zz9y\tlab-2\tRunning\tRunning 2 hours ago\t\n" +
	"P\t0\tok\tHTTP 200\n" +
	"P\t1\tfail\tHTTP 500 instead of 200: <h1>oops</h1>\n" +
	"P\t2\telsewhere\tlab-2\n"

func TestParseJudgesDockerOutput(t *testing.T) {
	probes := []Probe{HTTP("pad.x.test", 443, "/", 200, "Etherpad"), HTTP("pad.x.test", 443, "/api", 200, ""), Exec("pad_db", "pg_isready", "accepting")}
	st, err := Parse("pad", dockerOut, probes)
	if err != nil {
		t.Fatal(err)
	}
	pad, _ := st.Service("pad_etherpad")
	if got := pad.Problem(); got != "0 of 1 tasks running (1 preparing): task: non-zero exit (1)" {
		t.Errorf("etherpad problem %q", got)
	}
	if n := pad.Restarts(time.Hour); n != 2 {
		t.Errorf("etherpad restarts %d, want 2", n)
	}
	if n := pad.Restarts(20 * time.Second); n != 1 {
		t.Errorf("etherpad restarts in 20s %d, want 1", n)
	}
	db, _ := st.Service("pad_db")
	if db.Problem() != "" || db.RunningFor() != 3*time.Minute || db.RunningIDs() != "d1" {
		t.Errorf("db: %q %s %q", db.Problem(), db.RunningFor(), db.RunningIDs())
	}
	web, _ := st.Service("pad_web")
	if got := web.Problem(); got != "0 of 1 tasks running (1 starting)" {
		t.Errorf("web (healthcheck not passed yet): %q", got)
	}
	agent, _ := st.Service("pad_agent")
	if agent.Problem() != "" || agent.RunningFor() != time.Hour || len(agent.Tasks) != 2 {
		t.Errorf("global agent: %+v", agent)
	}
	if ok, svc, _ := st.Converged([]string{"pad_db", "pad_agent"}); !ok {
		t.Errorf("db and agent converged, got %s", svc)
	}
	if ok, svc, _ := st.Converged([]string{"pad_db", "pad_etherpad"}); ok || svc != "pad_etherpad" {
		t.Errorf("etherpad not converged, got %v %s", ok, svc)
	}
	if ok, svc, why := st.Converged([]string{"pad_gone"}); ok || svc != "pad_gone" || why == "" {
		t.Errorf("a missing service: %v %s %q", ok, svc, why)
	}
	if !st.Probes[0].OK || st.Probes[1].OK || st.Probes[2].Elsewhere != "lab-2" {
		t.Errorf("probes: %+v", st.Probes)
	}
	if r, bad := st.FailedProbe(); !bad || r.Probe.Path != "/api" || !strings.Contains(r.Detail, "HTTP 500") {
		t.Errorf("failed probe %+v", r)
	}
	// A probe that printed nothing failed.
	st, _ = Parse("pad", "", probes[:1])
	if st.Probes[0].OK || st.Probes[0].Detail == "" {
		t.Errorf("silent probe: %+v", st.Probes[0])
	}
	if _, err := Parse("pad", "S\tbroken\n", nil); err == nil {
		t.Error("a short line is an error")
	}
}

func TestParseAgeReadsDockerDurations(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"less than a second": 0, "1 second": time.Second, "45 seconds": 45 * time.Second,
		"about a minute": time.Minute, "3 minutes": 3 * time.Minute, "about an hour": time.Hour,
		"5 hours": 5 * time.Hour, "2 days": 48 * time.Hour, "gibberish": 0,
	} {
		if got := parseAge(in); got != want {
			t.Errorf("parseAge(%q) = %s, want %s", in, got, want)
		}
	}
	if r, d := parseReplicas("1/1 (max 1 per node)"); r != 1 || d != 1 {
		t.Errorf("replicas %d/%d", r, d)
	}
}

func TestProbeCheckRefusesIncompleteProbes(t *testing.T) {
	for _, p := range []Probe{{Kind: "smtp"}, HTTP("", 443, "/", 200, ""), HTTP("a.test", 443, "nopath", 200, ""), TCP("", 25, false, ""), Exec("x_y", " ", "")} {
		if p.Check() == nil {
			t.Errorf("%+v passed Check", p)
		}
	}
	if err := WS("a.test", 8443, "/ws", "wamp.2.json").Check(); err != nil {
		t.Error(err)
	}
	if u := WS("a.test", 8443, "/ws", "").String(); u != "websocket wss://a.test:8443/ws → 101" {
		t.Error(u)
	}
}

func TestStateScriptPassesShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is needed (Debian package shellcheck; scripts/test installs it)")
	}
	text, err := Render("pad", []Probe{HTTP("pad.x.test", 443, "/", 200, "it's \"here\""), WS("x.test", 443, "/ws", "wamp.2.json"), WS("x.test", 443, "/ws", ""), TCP("mail_smtp", 25, false, ""), TCP("mail_imap", 993, true, "mail.x.test"), Exec("redis_redis", `redis-cli ping`, "PONG")})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("shellcheck", "-s", "sh", "-S", "warning", "-")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s\n%s", err, out, text)
	}
}

// TestHTTPAndWebsocketProbesAgainstALoopbackEdge runs the real probe
// script with the real curl against a TLS server on loopback standing in
// for the edge: a page with its text, one answering 500, a page without
// the text, a websocket upgrade and a path that does not upgrade. The
// docker half of the script finds no swarm here and prints nothing; the
// lab end-to-end tests run it against a real swarm.
func TestHTTPAndWebsocketProbesAgainstALoopbackEdge(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed")
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "pad.x.test:"+r.URL.Port() && !strings.HasPrefix(r.Host, "pad.x.test") {
			http.Error(w, "wrong vhost "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		switch r.URL.Path {
		case "/":
			w.Write([]byte("<title>Etherpad</title>"))
		case "/broken":
			http.Error(w, "Internal Server Error: stand-in broken on purpose", http.StatusInternalServerError)
		case "/ws":
			if r.Header.Get("Upgrade") != "websocket" || r.Header.Get("Sec-WebSocket-Protocol") != "wamp.2.json" {
				http.Error(w, "no upgrade", http.StatusBadRequest)
				return
			}
			c, rw, _ := w.(http.Hijacker).Hijack()
			defer c.Close()
			rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n")
			rw.Flush()
			bufio.NewReader(c).ReadByte() // hold until curl gives up
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	port, _ := strconv.Atoi(u.Port())
	probes := []Probe{
		HTTP("pad.x.test", port, "/", 200, "Etherpad"),
		HTTP("pad.x.test", port, "/broken", 200, ""),
		HTTP("pad.x.test", port, "/", 200, "Welcome"),
		WS("pad.x.test", port, "/ws", "wamp.2.json"),
		WS("pad.x.test", port, "/", "wamp.2.json"),
		HTTP("pad.x.test", 1, "/", 200, ""),
		HTTP("pad.x.test", port, "/nowhere", 0, ""),
		HTTP("pad.x.test", port, "/broken", 0, ""),
	}
	text, err := Render("none", probes)
	if err != nil {
		t.Fatal(err)
	}
	out, err := host.NewLocal("local").Run(context.Background(), text, host.RunOpts{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	st, err := Parse("none", out, probes)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ok     bool
		detail string
	}{{true, "HTTP 200"}, {false, "HTTP 500 instead of 200: Internal Server Error: stand-in broken"}, {false, `does not say "Welcome"`}, {true, "101"}, {false, "HTTP 200 instead of 101"}, {false, "no answer"}, {true, "HTTP 404"}, {false, "HTTP 500 instead of a status below 500"}}
	for i, w := range want {
		r := st.Probes[i]
		if r.OK != w.ok || !strings.Contains(r.Detail, w.detail) {
			t.Errorf("probe %d (%s): ok=%v %q, want ok=%v with %q", i, r.Probe, r.OK, r.Detail, w.ok, w.detail)
		}
	}
	if len(st.Services) != 0 {
		t.Errorf("no swarm here, yet services %+v", st.Services)
	}
}

func TestLogsScriptPassesShellcheck(t *testing.T) {
	for _, d := range []map[string]any{
		{"Stack": "etherpad", "Service": "", "Tail": "100", "Since": "", "Follow": false},
		{"Stack": "kopnik", "Service": "node", "Tail": "20", "Since": "10m", "Follow": true},
	} {
		text, err := script.RenderFile("health/logs.sh", d)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("shellcheck", "-s", "sh", "-S", "warning", "-")
		cmd.Stdin = strings.NewReader("#!/bin/sh\n" + text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s\n%s", err, out, text)
		}
	}
}
