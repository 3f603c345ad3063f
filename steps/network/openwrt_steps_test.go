package network

import (
	"context"
	"errors"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
)

// fakeOpenWrt is a router in memory: uci show and the apply and confirm
// scripts act on a UCIState. The first drops confirmations fail, as a
// dropped SSH session would.
//
// What this fake cannot show: it applies batches with collabstack's own
// UCI model (uci_state.go), so it checks the code against itself. OpenWrt's
// real `uci` is not packaged in Debian, and building it from OpenWrt's
// sources here would need a build recipe for fetched code; so nothing in
// this suite runs the UCI batches, apply.sh or confirm.sh against a real
// router. In particular real `uci batch` exits 0 even when one of its
// commands fails, which the fake does not reproduce: the "nothing
// committed" path tested here cannot happen that way on a router.
type fakeOpenWrt struct {
	mu      sync.Mutex
	state   *UCIState
	files   map[string][]byte
	token   string
	drops   int
	applied int
}

var tokenRE = regexp.MustCompile(`echo (\S+) > "\$token"`)

func (f *fakeOpenWrt) Name() string { return "fake-openwrt" }
func (f *fakeOpenWrt) Close() error { return nil }
func (f *fakeOpenWrt) Upload(_ context.Context, path string, data []byte, _ fs.FileMode, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files[path] = data
	return nil
}
func (f *fakeOpenWrt) ReadFile(_ context.Context, path string) ([]byte, error) {
	if d, ok := f.files[path]; ok {
		return d, nil
	}
	return nil, fs.ErrNotExist
}

func (f *fakeOpenWrt) Run(_ context.Context, cmd string, o host.RunOpts) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	script := string(o.Stdin)
	switch {
	case strings.HasPrefix(cmd, "uci -q show "):
		return f.state.Show(strings.TrimPrefix(cmd, "uci -q show ")), nil
	case strings.Contains(script, "apply a UCI batch"):
		m := tokenRE.FindStringSubmatch(script)
		if m == nil {
			return "", errors.New("no token in the apply script")
		}
		f.token = strings.Trim(m[1], "'")
		cmds, err := ParseUCIBatch(string(f.files["/tmp/collabstack-uci.batch"]))
		if err != nil {
			return "", err
		}
		f.applied++
		return "applied\n", f.state.Apply(cmds)
	case strings.Contains(script, "confirm the change"):
		if f.drops > 0 {
			f.drops--
			return "", errors.New("connection lost")
		}
		if f.token == "" || !strings.Contains(script, f.token) {
			return "reverted\n", &host.ExitError{Code: 3}
		}
		f.token = ""
		return "confirmed\n", nil
	case strings.HasPrefix(cmd, "sh -c "):
		return "", nil // the access script
	}
	return "", errors.New("unexpected command " + cmd)
}

// TestRouterStepsFlow drives RouterSteps against the in-memory router:
// the first run applies and confirms after a dropped connection, the
// second changes nothing.
func TestRouterStepsFlow(t *testing.T) {
	def, err := DefaultOpenWrt()
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeOpenWrt{state: def, files: map[string][]byte{}, drops: 1}
	s := testSite(t)
	env := testEnv(t, r)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := RouterOptions{RevertAfter: 20 * time.Second}
	if n := runSteps(ctx, t, env, RouterStepsWith(s, OuterRouterName, o)); n != 1 || r.applied != 1 {
		t.Errorf("first run changed %d steps with %d batches, want the uci step once", n, r.applied)
	}
	if n := runSteps(ctx, t, env, RouterStepsWith(s, OuterRouterName, o)); n != 0 || r.applied != 1 {
		t.Errorf("second run changed %d steps", n)
	}
	if v, _ := r.state.Get("network", "lan", "ipaddr"); strings.Join(v, "") != "10.10.0.1" {
		t.Errorf("LAN address is %v", v)
	}
	// A router that reverted before collabstack came back is an error
	// with a hint.
	s.Network.VPNUsers = nil
	s.Components["etherpad"] = s.Components["nextcloud"]
	r.token, r.drops = "", 0
	r.state.Apply([]UCICommand{{Op: "delete", Config: "firewall", Section: "cs_fwd_tcp80"}})
	steps := RouterStepsWith(s, OuterRouterName, o)
	env2 := testEnv(t, &revertingRouter{r})
	if err := steps[1].Apply(ctx, env2); err == nil || !strings.Contains(err.Error(), "restored its previous settings") {
		t.Errorf("a reverted change gave %v", err)
	}
}

// revertingRouter forgets the token right after applying, as if the
// revert job had run.
type revertingRouter struct{ *fakeOpenWrt }

func (r *revertingRouter) Run(ctx context.Context, cmd string, o host.RunOpts) (string, error) {
	out, err := r.fakeOpenWrt.Run(ctx, cmd, o)
	if strings.Contains(string(o.Stdin), "apply a UCI batch") {
		r.mu.Lock()
		r.token = ""
		r.mu.Unlock()
	}
	return out, err
}
