package network

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/collabstack/collabstack/steps/host"
)

// vpncmd drives SoftEther's vpncmd without putting a secret on a command
// line: the admin password goes on stdin (vpncmd prompts for it), and
// commands go in a 0600 file in a private temporary folder (/IN:),
// removed after the run. Output is captured, never streamed, because
// vpncmd echoes every command of the file.
type vpncmd struct {
	port    int
	timeout time.Duration
}

// errDenied: the server refused the password.
var errDenied = errors.New("the VPN server refused the admin password")

// vpnSection is the output of one command of a batch.
type vpnSection struct {
	Hub   string // the hub selected when the command ran
	Cmd   string // the command as written (may hold a secret: never print)
	Lines []string
	Code  int // SoftEther error code, 0 when it succeeded
	Err   string
}

// Name is the command's first word, safe to print.
func (s vpnSection) Name() string {
	name, _, _ := strings.Cut(strings.TrimSpace(s.Cmd), " ")
	return name
}

// vpnResult is a whole batch's output.
type vpnResult struct {
	Sections []vpnSection
	// Prompted: vpncmd asked for a password (the server has one).
	Prompted bool
}

var (
	promptRE = regexp.MustCompile(`^VPN Server(?:/([^>]*))?>(.*)$`)
	errRE    = regexp.MustCompile(`^Error occurred\. \(Error code: ([0-9]+)\)`)
)

// run runs commands (one per line) as the server admin.
func (v vpncmd) run(ctx context.Context, h host.Host, password string, cmds []string) (*vpnResult, error) {
	res, _, err := v.runFetch(ctx, h, password, cmds, "")
	return res, err
}

// runFetch is run; commands may write files into the private folder
// (vpncmd's working folder; {dir} in a command is its path), and the file
// called fetch there is read back.
func (v vpncmd) runFetch(ctx context.Context, h host.Host, password string, cmds []string, fetch string) (*vpnResult, []byte, error) {
	for _, c := range cmds {
		if strings.ContainsAny(c, "\n\r") {
			return nil, nil, fmt.Errorf("a vpncmd command holds a line break")
		}
	}
	dir, err := h.Run(ctx, "mktemp -d /tmp/collabstack-vpncmd.XXXXXX", host.RunOpts{})
	if err != nil {
		return nil, nil, fmt.Errorf("make a private folder for vpncmd: %w", err)
	}
	dir = strings.TrimSpace(dir)
	defer h.Run(context.WithoutCancel(ctx), "rm -rf "+host.Quote(dir), host.RunOpts{})
	file := dir + "/commands"
	text := strings.ReplaceAll(strings.Join(cmds, "\n")+"\n", "{dir}", dir)
	if err := h.Upload(ctx, file, []byte(text), 0o600, ""); err != nil {
		return nil, nil, fmt.Errorf("upload the vpncmd commands: %w", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	denied := false
	watch := func(line string) {
		if strings.Contains(line, "Access has been denied") {
			mu.Lock()
			denied = true
			mu.Unlock()
			cancel() // vpncmd would ask again and again
		}
	}
	secs := int(v.timeout / time.Second)
	if secs < 5 {
		secs = 5
	}
	// vpncmd runs in the private folder: files commands write (a path
	// starting with / would read as a parameter) land there.
	cmd := fmt.Sprintf("cd %s && timeout %d vpncmd localhost:%d /SERVER /CSV /IN:commands", host.Quote(dir), secs, v.port)
	out, err := h.Run(rctx, cmd, host.RunOpts{Stdin: []byte(password + "\n"), Output: watch})
	mu.Lock()
	wasDenied := denied
	mu.Unlock()
	if wasDenied {
		return nil, nil, errDenied
	}
	if ctx.Err() != nil {
		return nil, nil, ctx.Err()
	}
	res := parseVpncmd(out)
	var ee *host.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, nil, fmt.Errorf("run vpncmd: %w", err)
	}
	if len(res.Sections) == 0 {
		msg := lastError(out)
		if ee != nil && ee.Code == 124 {
			msg = "vpncmd gave no answer in time"
		}
		return nil, nil, fmt.Errorf("vpncmd could not talk to the VPN server on localhost:%d: %s", v.port, msg)
	}
	if fetch == "" {
		return res, nil, nil
	}
	if err := res.failed(); err != nil {
		return res, nil, err
	}
	data, err := h.ReadFile(ctx, dir+"/"+fetch)
	if err != nil {
		return res, nil, fmt.Errorf("read %s made by vpncmd: %w", fetch, err)
	}
	return res, data, nil
}

// lastError is vpncmd's error message (without the commands echoed).
func lastError(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if errRE.MatchString(strings.TrimSpace(l)) {
			msg := strings.TrimSpace(l)
			if i+1 < len(lines) {
				msg += " " + strings.TrimSpace(lines[i+1])
			}
			return msg
		}
	}
	return "no output"
}

func parseVpncmd(out string) *vpnResult {
	res := &vpnResult{}
	var cur *vpnSection
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r")
		if strings.HasPrefix(l, "Password:") {
			res.Prompted = true
			continue
		}
		if m := promptRE.FindStringSubmatch(l); m != nil {
			res.Sections = append(res.Sections, vpnSection{Hub: m[1], Cmd: m[2]})
			cur = &res.Sections[len(res.Sections)-1]
			continue
		}
		if cur == nil {
			continue
		}
		if m := errRE.FindStringSubmatch(l); m != nil {
			cur.Code, _ = strconv.Atoi(m[1])
			if i+1 < len(lines) {
				cur.Err = strings.TrimSpace(lines[i+1])
				i++
			}
			continue
		}
		if strings.TrimSpace(l) != "" {
			cur.Lines = append(cur.Lines, l)
		}
	}
	return res
}

// failed returns the first failed command as an error naming only the
// command (its arguments may hold secrets).
func (r *vpnResult) failed() error {
	for _, s := range r.Sections {
		if s.Code != 0 {
			return fmt.Errorf("vpncmd %s: error %d: %s", s.Name(), s.Code, s.Err)
		}
	}
	return nil
}

// find returns the section of the first command starting with name.
func (r *vpnResult) find(name string) (vpnSection, bool) {
	for _, s := range r.Sections {
		if strings.EqualFold(s.Name(), name) {
			return s, true
		}
	}
	return vpnSection{}, false
}

// csvRows parses a section's CSV lines (header first).
func (s vpnSection) csvRows() [][]string {
	var out [][]string
	for _, l := range s.Lines {
		out = append(out, splitCSV(l))
	}
	return out
}

// items turns a two-column Item,Value table into a map.
func (s vpnSection) items() map[string]string {
	m := map[string]string{}
	for i, row := range s.csvRows() {
		if i == 0 || len(row) < 2 {
			continue
		}
		m[strings.TrimSpace(row[0])] = row[1]
	}
	return m
}

// splitCSV splits one CSV line with "quoted" fields.
func splitCSV(l string) []string {
	var out []string
	var b strings.Builder
	inq := false
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case inq && c == '"' && i+1 < len(l) && l[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			inq = !inq
		case c == ',' && !inq:
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, b.String())
}

// vpnArg quotes a vpncmd parameter value.
func vpnArg(v string) (string, error) {
	if strings.ContainsAny(v, "\"\n\r") {
		return "", fmt.Errorf("a value for vpncmd holds a \" or a line break")
	}
	return `"` + v + `"`, nil
}
