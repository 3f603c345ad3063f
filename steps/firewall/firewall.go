package firewall

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sitemodel"
	"github.com/collabstack/collabstack/templates"
)

// Component is the --only name of the firewall steps.
const Component = "firewall"

// Paths on the host.
const (
	StateDir   = layout.Root + "/firewall"
	revertPath = "/usr/local/lib/collabstack/fwrevert.sh"
	unitPath   = "/etc/systemd/system/collabstack-firewall.service"
)

// DefaultRevertAfter is how long a change waits for its confirmation.
const DefaultRevertAfter = 90 * time.Second

// Exit status of firewall.sh STAGE=confirm when the timer has reverted.
const confirmReverted = 3

// ID is the firewall step of a host.
func ID(hostName string) string { return "firewall/" + hostName }

// Scripts lists the step scripts rendered behind lib.sh (for shellcheck).
func Scripts() []string { return []string{"firewall.sh", "facts.sh"} }

// Options tunes the steps (tests shorten the revert).
type Options struct {
	RevertAfter time.Duration
}

// Steps returns the firewall step of hostName, one of the site's swarm
// hosts (members), after needs. Nothing when the site turns it off.
func Steps(s *site.Site, members []site.Host, hostName string, o Options, needs ...string) []engine.Step {
	if s.Firewall.Off {
		return nil
	}
	return []engine.Step{Step(hostName, func(ctx context.Context, env *engine.Env) (Rules, error) {
		return SiteRules(ctx, env, s, members, hostName)
	}, o, needs...)}
}

// Source computes a host's rules from live facts.
type Source func(ctx context.Context, env *engine.Env) (Rules, error)

// Step keeps hostName's firewall at the rules src computes: Check compares
// them with the confirmed ones on the host; Apply loads them with a revert
// that only a new SSH connection disarms.
func Step(hostName string, src Source, o Options, needs ...string) engine.Step {
	if o.RevertAfter <= 0 {
		o.RevertAfter = DefaultRevertAfter
	}
	render := func(ctx context.Context, env *engine.Env) ([]byte, map[string]any, error) {
		r, err := src(ctx, env)
		if err != nil {
			return nil, nil, err
		}
		rules, err := r.Render()
		if err != nil {
			return nil, nil, err
		}
		return rules, map[string]any{"StateDir": StateDir, "RevertPath": revertPath, "Hash": Hash(rules),
			"RevertSeconds": int(o.RevertAfter.Round(time.Second) / time.Second)}, nil
	}
	return &engine.Func{
		StepID: ID(hostName), Name: "Firewall on " + hostName + " (reverted unless a new connection confirms)",
		On: hostName, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			if spec, ok := specOf(env, hostName); ok && spec.Local {
				env.Logf("%s is this machine: its firewall is left as it is", hostName)
				return true, nil
			}
			_, data, err := render(ctx, env)
			if err != nil {
				return false, err
			}
			r := run(ctx, env, "firewall.sh", data, "check", "", false)
			switch {
			case r.err == nil:
				return true, nil
			case r.code == script.CheckTodo:
				logPrefixed(env, r.out, "todo: ")
				return false, nil
			}
			return false, fmt.Errorf("read %s's firewall: %w", hostName, r.err)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			rules, data, err := render(ctx, env)
			if err != nil {
				return err
			}
			return apply(ctx, env, rules, data, o.RevertAfter)
		},
	}
}

type result struct {
	out  string
	code int
	err  error
}

func run(ctx context.Context, env *engine.Env, name string, data map[string]any, mode, stage string, stream bool) result {
	text, err := script.Render(Dir+name, data)
	if err != nil {
		return result{code: -1, err: err}
	}
	opts := host.RunOpts{Sudo: true, Env: map[string]string{"MODE": mode, "STAGE": stage}}
	if stream {
		opts.Output = env.Out
	}
	out, err := env.Host.Run(ctx, text, opts)
	var ee *host.ExitError
	switch {
	case err == nil:
		return result{out: out}
	case errors.As(err, &ee):
		return result{out: out, code: ee.Code, err: err}
	}
	return result{out: out, code: -1, err: err}
}

func logPrefixed(env *engine.Env, out, prefix string) {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			env.Logf("%s", rest)
		}
	}
}

// redialer is a host that can prove a new connection gets through
// (steps/ssh.Host).
type redialer interface {
	Redial(ctx context.Context) error
}

// apply uploads the rules, arms the revert, loads them, and confirms over
// a new SSH connection; when none gets through, it waits for the revert
// and says so.
func apply(ctx context.Context, env *engine.Env, rules []byte, data map[string]any, revertAfter time.Duration) error {
	name := env.Host.Name()
	files := []struct {
		path string
		data []byte
		mode fs.FileMode
	}{{path: StateDir + "/rules.new", data: rules, mode: 0o600}}
	for _, f := range []struct{ path, src string }{{revertPath, "fwrevert.sh"}, {unitPath, "collabstack-firewall.service"}} {
		b, err := templates.FS.ReadFile(Dir + f.src)
		if err != nil {
			return fmt.Errorf("read %s%s: %w", Dir, f.src, err)
		}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(f.src, ".sh") {
			mode = 0o755
		}
		files = append(files, struct {
			path string
			data []byte
			mode fs.FileMode
		}{f.path, b, mode})
	}
	for _, f := range files {
		if err := env.Host.Upload(ctx, f.path, f.data, f.mode, "root"); err != nil {
			return fmt.Errorf("upload %s to %s: %w", f.path, name, err)
		}
	}
	armed := time.Now()
	r := run(ctx, env, "firewall.sh", data, "apply", "arm", true)
	if r.err != nil && !strings.Contains(r.out, "armed:") {
		return engine.WithHint(fmt.Errorf("load the firewall on %s: %w", name, r.err), "nothing was changed; the output above says why")
	}
	confirmBy := armed.Add(revertAfter - min(15*time.Second, revertAfter/4))
	rd, canRedial := env.Host.(redialer)
	var lastErr error
	for time.Now().Before(confirmBy) && ctx.Err() == nil {
		if canRedial {
			actx, cancel := context.WithDeadline(ctx, confirmBy)
			err := rd.Redial(actx)
			cancel()
			if err != nil {
				if lastErr == nil {
					env.Logf("a new connection to %s does not get through (%v); retrying until %s", name, err, confirmBy.Format(time.TimeOnly))
				}
				lastErr = err
				sleep(ctx, 2*time.Second)
				continue
			}
		}
		r := run(ctx, env, "firewall.sh", data, "apply", "confirm", false)
		switch {
		case r.err == nil:
			logPrefixed(env, r.out, "confirmed: ")
			return nil
		case r.code == confirmReverted:
			return revertedError(name, r.out)
		}
		lastErr = r.err
		sleep(ctx, 2*time.Second)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("confirm the firewall on %s: %w (the host puts its previous firewall back at %s)", name, ctx.Err(), armed.Add(revertAfter).Format(time.TimeOnly))
	}
	revertAt := armed.Add(revertAfter)
	env.Logf("no new connection to %s got through: its timer puts the previous firewall back at %s; waiting for it", name, revertAt.Format(time.TimeOnly))
	sleep(ctx, time.Until(revertAt.Add(3*time.Second)))
	giveUp := time.Now().Add(2 * time.Minute)
	for ctx.Err() == nil && time.Now().Before(giveUp) {
		if canRedial {
			if err := rd.Redial(ctx); err != nil {
				lastErr = err
				sleep(ctx, 3*time.Second)
				continue
			}
		}
		r := run(ctx, env, "firewall.sh", data, "apply", "confirm", false)
		if r.code == confirmReverted {
			return revertedError(name, r.out)
		}
		if r.err == nil {
			// Confirmed after all: the timer had not fired yet.
			logPrefixed(env, r.out, "confirmed: ")
			return nil
		}
		lastErr = r.err
		sleep(ctx, 3*time.Second)
	}
	return engine.WithHint(fmt.Errorf("%s is unreachable since its firewall changed, also after the revert time: %v", name, lastErr),
		"on the host's console: `cat %s/revert.log`; `nft delete table inet collabstack` removes collabstack's firewall", StateDir)
}

func revertedError(name, out string) error {
	why := ""
	for _, line := range strings.Split(out, "\n") {
		if w, ok := strings.CutPrefix(line, "reverted: "); ok {
			why = w
		}
	}
	return engine.WithHint(fmt.Errorf("the new firewall kept collabstack's new SSH connections out of %s, so the host put its previous firewall back (%s)", name, why),
		"add the address you connect from to firewall.admin_networks in the site file (docs/security.md), then run apply again; the rejected rules are %s/rules.new on the host", StateDir)
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// SiteRules computes hostName's rules from the site and the host's live
// facts: the admin networks (by default the address collabstack connects
// from and the host's private networks), the swarm members' addresses,
// and the public ports of the chosen apps.
func SiteRules(ctx context.Context, env *engine.Env, s *site.Site, members []site.Host, hostName string) (Rules, error) {
	r := Rules{Host: hostName, SSHPort: 22, AdminTCP: slices.Clone(AdminPorts)}
	if c, ok := s.Components[kopnik.Component]; ok {
		// The kopnik visualizer, when chosen, is an admin console.
		if o, err := kopnik.ParseOptions(c.Options); err == nil && o.Visualizer {
			r.AdminTCP = append(r.AdminTCP, o.VisualizerPort)
		}
	}
	addrs := map[string]string{}
	var names []string
	for _, m := range members {
		a := m.Address
		if spec, ok := env.Hosts.Spec(m.Name); ok && spec.Address != "" {
			a = spec.Address
		}
		addrs[m.Name] = a
		if m.Name == hostName {
			if spec, ok := env.Hosts.Spec(m.Name); ok && spec.Port != 0 {
				r.SSHPort = spec.Port
			} else if m.Port != 0 {
				r.SSHPort = m.Port
			}
		}
		if ip, err := netip.ParseAddr(a); err == nil {
			r.Swarm = append(r.Swarm, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
		} else if a != "" {
			names = append(names, a)
		}
	}
	text, err := script.Render(Dir+"facts.sh", map[string]any{"Members": names})
	if err != nil {
		return r, err
	}
	out, err := env.Host.Run(ctx, text, host.RunOpts{})
	if err != nil {
		return r, fmt.Errorf("read %s's networks: %w", hostName, err)
	}
	f := ParseFacts(out)
	r.Swarm = append(r.Swarm, f.Members...)
	lan := f.Private()
	if s.Network != nil && s.Network.LAN != "" {
		if p, err := netip.ParsePrefix(s.Network.LAN); err == nil {
			lan = append(lan, p.Masked())
		}
	}
	r.Trusted = lan
	for _, n := range s.Firewall.AdminNetworks {
		p, err := site.ParseNetwork(n)
		if err != nil {
			return r, fmt.Errorf("firewall.admin_networks: %w", err)
		}
		r.Admin = append(r.Admin, p)
	}
	if len(r.Admin) == 0 {
		if f.Client.IsValid() {
			r.Admin = append(r.Admin, netip.PrefixFrom(f.Client, f.Client.BitLen()))
		}
		r.Admin = append(r.Admin, lan...)
	}
	if len(r.Admin) == 0 {
		return r, engine.WithHint(fmt.Errorf("%s: collabstack cannot tell which networks may reach SSH (no SSH_CONNECTION, no private network)", hostName),
			"name them in the site file: firewall: {admin_networks: [203.0.113.7, 192.168.1.0/24]}")
	}
	r.Public, r.LAN, err = AppPorts(s)
	return r, err
}

// PublicPorts are the ports open to everyone: the edge's HTTP and HTTPS
// (80 and 443 unless its options move them; the kopnik preset's nginx
// uses 80 and 443) and every chosen app's public ports.
func PublicPorts(s *site.Site) ([]Port, error) {
	public, _, err := AppPorts(s)
	return public, err
}

// AppPorts are the ports open to everyone (PublicPorts) and those open
// to the LAN, the VPN and the admin networks only (an app's port that is
// not public, such as RADIUS), from the site model.
func AppPorts(s *site.Site) (public, lan []Port, err error) {
	public = []Port{{From: 80}, {From: 443}}
	m, err := sitemodel.Of(s)
	if err != nil {
		return nil, nil, err
	}
	if m.EdgeHTTP != 0 {
		public = append(public, Port{From: m.EdgeHTTP}, Port{From: m.EdgeHTTPS})
	}
	for _, p := range m.Ports {
		fp := Port{From: p.Port.Port, To: p.Range, UDP: p.Protocol == "udp"}
		if p.Public {
			public = append(public, fp)
		} else {
			lan = append(lan, fp)
		}
	}
	return public, lan, nil
}

// Facts is what facts.sh reads.
type Facts struct {
	Client  netip.Addr
	Nets    []netip.Prefix
	Members []netip.Prefix
}

// ParseFacts reads facts.sh's lines.
func ParseFacts(out string) Facts {
	var f Facts
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		switch k {
		case "client":
			if a, err := netip.ParseAddr(v); err == nil {
				f.Client = a.Unmap()
			}
		case "net":
			if p, err := netip.ParsePrefix(v); err == nil {
				f.Nets = append(f.Nets, p.Masked())
			}
		case "member":
			if a, err := netip.ParseAddr(v); err == nil {
				a = a.Unmap()
				f.Members = append(f.Members, netip.PrefixFrom(a, a.BitLen()))
			}
		}
	}
	return f
}

// Private are the host's networks in private ranges (RFC 1918, ULA): its
// LAN. A public network (a hoster's shared subnet) is not trusted.
func (f Facts) Private() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range f.Nets {
		if p.Addr().IsPrivate() {
			out = append(out, p)
		}
	}
	return out
}

func specOf(env *engine.Env, name string) (host.Spec, bool) {
	if env.Hosts == nil {
		return host.Spec{}, false
	}
	return env.Hosts.Spec(name)
}
