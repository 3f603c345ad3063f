package pveinstall

import (
	"context"
	"fmt"
	"io/fs"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/templates"
)

// Paths on the host.
const (
	// NetStateDir holds a pending network change: armed, the previous
	// file, the apply and revert logs, and "reverted" after a revert.
	NetStateDir = layout.Root + "/network"
	// PreviousInterfaces is /etc/network/interfaces as it was before
	// collabstack first changed it (kept for a manual recovery).
	PreviousInterfaces = "/etc/network/interfaces.pre-collabstack"
	hostLibDir         = "/usr/local/lib/collabstack"
	unitDir            = "/etc/systemd/system"
	revertUnit         = "collabstack-netrevert"
)

// Exit statuses of bridge-confirm.sh.
const (
	confirmReverted = 3
	confirmFailed   = 4
	confirmPending  = 5
)

// NetFacts is what bridge-facts.sh reads about the host's main NIC.
type NetFacts struct {
	NIC, Gateway, Address, MAC string
	// Method is the NIC's method in /etc/network/interfaces (static,
	// dhcp, ...); empty when no stanza configures it.
	Method                   string
	Dynamic, IsBridge, INet6 bool
	Extra                    []string // dns-* options of the NIC's stanza
	OtherFiles               []string // files in interfaces.d that configure the NIC too
	OtherIfaces              []string // other interfaces /etc/network/interfaces configures
}

// ParseNetFacts reads bridge-facts.sh's KEY=VALUE lines.
func ParseNetFacts(out string) NetFacts {
	var f NetFacts
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), "=")
		if !ok {
			continue
		}
		switch k {
		case "NIC":
			f.NIC = v
		case "GATEWAY":
			f.Gateway = v
		case "ADDRESS":
			f.Address = v
		case "MAC":
			f.MAC = v
		case "METHOD":
			f.Method = v
		case "DYNAMIC":
			f.Dynamic = v == "1"
		case "IS_BRIDGE":
			f.IsBridge = v == "1"
		case "INET6":
			f.INet6 = v == "1"
		case "EXTRA":
			f.Extra = append(f.Extra, v)
		case "OTHER_FILE":
			f.OtherFiles = append(f.OtherFiles, v)
		case "OTHER_IFACE":
			f.OtherIfaces = append(f.OtherIfaces, v)
		}
	}
	return f
}

var (
	ifaceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}$`)
	macAddr   = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)
	dnsOption = regexp.MustCompile(`^dns-[a-z-]+( [^\n]*)?$`)
)

// Interfaces renders the new /etc/network/interfaces for the bridge from
// the host's facts, or says why the bridge cannot be made safely.
func Interfaces(hostName, bridge string, f NetFacts) ([]byte, error) {
	hint := func(err error, h string, args ...any) error { return engine.WithHint(err, h, args...) }
	switch {
	case f.NIC == "":
		return nil, hint(fmt.Errorf("%s has no IPv4 default route: collabstack cannot tell which NIC to bridge", hostName),
			"give the host a default gateway in /etc/network/interfaces (from the console), then run apply again")
	case f.NIC == bridge:
		return nil, hint(fmt.Errorf("%s routes through %s already, but /etc/network/interfaces does not declare it as collabstack expects", hostName, bridge),
			"make /etc/network/interfaces declare %s (see docs/proxmox.md, \"The bridge\"), then run apply again", bridge)
	case f.IsBridge:
		return nil, hint(fmt.Errorf("%s routes through the bridge %s, not a NIC", hostName, f.NIC),
			"rename the bridge to %s in /etc/network/interfaces (or set network.wan_bridge: %s in the site file), then run apply again", bridge, f.NIC)
	case !ifaceName.MatchString(f.NIC):
		return nil, fmt.Errorf("%s: unexpected NIC name %q", hostName, f.NIC)
	case f.Method == "":
		return nil, hint(fmt.Errorf("%s: /etc/network/interfaces has no stanza for %s: something else (NetworkManager, systemd-networkd, netplan) configures it", hostName, f.NIC),
			"configure %s with ifupdown in /etc/network/interfaces ('auto %s' and 'iface %s inet static' with address and gateway) and remove the other tool, from the console; then run apply again", f.NIC, f.NIC, f.NIC)
	case f.Method != "static" && f.Method != "dhcp":
		return nil, hint(fmt.Errorf("%s: %s is configured as 'inet %s'; collabstack bridges static and dhcp configurations only", hostName, f.NIC, f.Method),
			"write the bridge yourself (docs/proxmox.md, \"The bridge\"), then run apply again")
	case f.INet6:
		return nil, hint(fmt.Errorf("%s: %s has an inet6 stanza, which collabstack does not move to the bridge", hostName, f.NIC),
			"move the inet6 settings to an 'iface %s inet6' stanza yourself (docs/proxmox.md, \"The bridge\"), or remove them; then run apply again", bridge)
	case slices.Contains(f.OtherIfaces, bridge):
		return nil, hint(fmt.Errorf("%s: /etc/network/interfaces declares %s, but it does not exist", hostName, bridge),
			"bring it up (ifreload -a) or correct its stanza on the host, then run apply again")
	case len(f.OtherIfaces) > 0:
		return nil, hint(fmt.Errorf("%s: /etc/network/interfaces configures other interfaces too (%s); collabstack writes the whole file and would drop them", hostName, strings.Join(f.OtherIfaces, ", ")),
			"move their stanzas to a file in /etc/network/interfaces.d/ (the new file sources that folder), or add the bridge yourself (docs/proxmox.md, \"The bridge\"); then run apply again")
	case len(f.OtherFiles) > 0:
		return nil, hint(fmt.Errorf("%s: %s is configured in %s too", hostName, f.NIC, strings.Join(f.OtherFiles, ", ")),
			"move that configuration into /etc/network/interfaces (or remove it), then run apply again")
	}
	data := map[string]any{"NIC": f.NIC, "Bridge": bridge, "Method": f.Method, "Address": "", "Gateway": "", "HWAddress": "",
		"Extra": []string{}}
	if f.Method == "static" {
		p, err := netip.ParsePrefix(f.Address)
		if err != nil {
			return nil, fmt.Errorf("%s: the address %q of %s: %w", hostName, f.Address, f.NIC, err)
		}
		data["Address"] = p.String()
		if f.Gateway != "" {
			g, err := netip.ParseAddr(f.Gateway)
			if err != nil {
				return nil, fmt.Errorf("%s: the gateway %q: %w", hostName, f.Gateway, err)
			}
			data["Gateway"] = g.String()
		}
	} else if macAddr.MatchString(f.MAC) {
		// The bridge keeps the NIC's MAC, so the DHCP server hands out
		// the same lease.
		data["HWAddress"] = f.MAC
	}
	var extra []string
	for _, x := range f.Extra {
		if dnsOption.MatchString(x) {
			extra = append(extra, x)
		}
	}
	data["Extra"] = extra
	return renderTemplate("interfaces.tmpl", data)
}

func renderTemplate(name string, data any) ([]byte, error) {
	return templates.Render(Dir+name, data, nil)
}

// bridgeStep makes the bridge over the main NIC with an automatic revert.
func bridgeStep(id, hostName string, needs []string, o Options) engine.Step {
	data := map[string]any{"Bridge": o.Bridge, "StateDir": NetStateDir}
	return &engine.Func{
		StepID: id, Name: "Bridge " + hostName + "'s network as " + o.Bridge + " (reverted unless confirmed)", On: hostName, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			r := run(ctx, env, "bridge.sh", script.Check, data, false)
			switch {
			case r.Err == nil:
				return true, nil
			case r.Todo():
				script.LogLines(env, r.Out, "todo: ")
				return false, nil
			}
			return false, fmt.Errorf("read %s's network: %w", hostName, r.Err)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			change := NetChange{Bridge: o.Bridge, RevertAfter: o.RevertAfter}
			// A change left armed by an interrupted run: reaching the host
			// through it is the confirmation it waits for.
			if r := run(ctx, env, "bridge.sh", script.Check, data, false); strings.Contains(r.Out, "todo: confirm the network change") {
				env.Logf("a network change on %s waits for confirmation; confirming it", hostName)
				r := change.confirm(ctx, env)
				script.LogLines(env, r.Out, "confirmed: ")
				script.LogLines(env, r.Out, "reverted: ")
				if r.Err != nil && r.Code != confirmReverted && r.Code != confirmFailed {
					return fmt.Errorf("confirm the pending network change on %s: %w", hostName, r.Err)
				}
				if r := run(ctx, env, "bridge.sh", script.Check, data, false); r.Err == nil {
					return nil
				}
			}
			r := run(ctx, env, "bridge-facts.sh", script.Check, map[string]any{}, false)
			if r.Err != nil {
				return fmt.Errorf("read %s's network: %w", hostName, r.Err)
			}
			facts := ParseNetFacts(r.Out)
			content, err := Interfaces(hostName, o.Bridge, facts)
			if err != nil {
				return err
			}
			if facts.Method == "static" {
				change.Address = facts.Address
			}
			change.Interfaces = content
			env.Logf("moving %s (%s) from %s to the bridge %s", facts.Address, facts.Method, facts.NIC, o.Bridge)
			if err := change.Apply(ctx, env); err != nil {
				return err
			}
			if r := run(ctx, env, "bridge.sh", script.Check, data, false); r.Err != nil {
				script.LogLines(env, r.Out, "todo: ")
				return engine.WithHint(fmt.Errorf("%s: the bridge %s was confirmed but is not complete: %w", hostName, o.Bridge, r.Err),
					"compare /etc/network/interfaces with `ip addr` and `ip route` on the host")
			}
			return nil
		},
	}
}

// NetChange is a new /etc/network/interfaces applied with an automatic
// revert: a timer on the host puts the previous file back and reloads the
// network unless collabstack reaches the host again and confirms within
// RevertAfter. The timer unit is enabled, so a reboot in between reverts
// too.
type NetChange struct {
	// Bridge is the interface that must carry an address afterwards.
	Bridge string
	// Interfaces is the new /etc/network/interfaces.
	Interfaces []byte
	// Address (CIDR) the bridge must carry; empty accepts any (DHCP).
	Address string
	// RevertAfter is the timer (default DefaultRevertAfter).
	RevertAfter time.Duration
	// AfterRevert is how long to keep trying to reach the host after the
	// timer has fired (default 3 minutes).
	AfterRevert time.Duration
}

// Apply stages the files, arms the revert, applies the change and
// confirms it over a new SSH session. When the host cannot be reached
// in time, it waits past the revert and reports it.
func (c NetChange) Apply(ctx context.Context, env *engine.Env) error {
	if c.RevertAfter <= 0 {
		c.RevertAfter = DefaultRevertAfter
	}
	if c.AfterRevert <= 0 {
		c.AfterRevert = 3 * time.Minute
	}
	name := env.Host.Name()
	secs := int(c.RevertAfter.Round(time.Second) / time.Second)
	timer, err := renderTemplate(revertUnit+".timer.tmpl", map[string]any{"Seconds": secs})
	if err != nil {
		return err
	}
	service, err := renderTemplate(revertUnit+".service.tmpl", map[string]any{"LibDir": hostLibDir})
	if err != nil {
		return err
	}
	hostData := map[string]any{"StateDir": NetStateDir}
	netapply, err := script.RenderFile(Dir+"netapply.sh", hostData)
	if err != nil {
		return err
	}
	netrevert, err := script.RenderFile(Dir+"netrevert.sh", hostData)
	if err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		mode fs.FileMode
	}{
		{path: NetStateDir + "/interfaces.new", data: c.Interfaces, mode: 0o644},
		{path: hostLibDir + "/netapply.sh", data: []byte(netapply), mode: 0o755},
		{path: hostLibDir + "/netrevert.sh", data: []byte(netrevert), mode: 0o755},
		{path: unitDir + "/" + revertUnit + ".service", data: service, mode: 0o644},
		{path: unitDir + "/" + revertUnit + ".timer", data: timer, mode: 0o644},
	}
	for _, f := range files {
		if err := env.Host.Upload(ctx, f.path, f.data, f.mode, "root"); err != nil {
			return fmt.Errorf("upload %s to %s: %w", f.path, name, err)
		}
	}

	armed := time.Now()
	r := run(ctx, env, "bridge-apply.sh", script.Apply, map[string]any{
		"Bridge": c.Bridge, "New": NetStateDir + "/interfaces.new", "RevertSeconds": strconv.Itoa(secs),
		"StateDir": NetStateDir, "LibDir": hostLibDir,
	}, true)
	if r.Err != nil {
		if !strings.Contains(r.Out, "armed:") {
			return engine.WithHint(fmt.Errorf("apply the new network configuration on %s: %w", name, r.Err),
				"nothing was changed; the output above says why")
		}
		// Armed, and the connection may have dropped with the change:
		// confirming below tells.
		env.Logf("the apply command on %s ended with %v; trying to confirm", name, r.Err)
	}

	margin := min(20*time.Second, c.RevertAfter/4)
	confirmBy := armed.Add(c.RevertAfter - margin)
	var lastErr error
	for time.Now().Before(confirmBy) {
		r := c.confirmWithin(ctx, env, minTime(time.Now().Add(30*time.Second), confirmBy))
		if done, err := c.outcome(env, name, r); done {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("confirm the network change on %s: %w (the host puts its previous configuration back at %s)", name, ctx.Err(), armed.Add(c.RevertAfter).Format(time.TimeOnly))
		}
		if r.Code == confirmPending {
			sleep(ctx, 500*time.Millisecond)
			continue
		}
		if lastErr == nil {
			env.Logf("%s does not answer since the change (%v); retrying until %s", name, r.Err, confirmBy.Format(time.TimeOnly))
		}
		lastErr = r.Err
		sleep(ctx, 2*time.Second)
	}

	revertAt := armed.Add(c.RevertAfter)
	env.Logf("could not confirm the change on %s: its revert timer puts the previous network configuration back at %s; waiting for it", name, revertAt.Format(time.TimeOnly))
	sleep(ctx, time.Until(revertAt.Add(10*time.Second)))
	giveUp := time.Now().Add(c.AfterRevert)
	for ctx.Err() == nil && time.Now().Before(giveUp) {
		r := c.confirmWithin(ctx, env, time.Now().Add(30*time.Second))
		// Confirmed now means reached through the new configuration after
		// all (a slow link), before the timer fired.
		if done, err := c.outcome(env, name, r); done {
			return err
		}
		lastErr = r.Err
		sleep(ctx, 5*time.Second)
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("the change stayed unconfirmed")
	}
	return engine.WithHint(fmt.Errorf("%s is unreachable since the network change, also after its revert time: %v", name, lastErr),
		"on the host's console: `cat %s/revert.log`; put the previous file back with `cp %s /etc/network/interfaces && ifreload -a` (docs/proxmox.md, \"Recovery\")", NetStateDir, PreviousInterfaces)
}

// outcome judges a confirm attempt: done is false when it must be tried
// again (the host did not answer, or the change is still being applied).
func (c NetChange) outcome(env *engine.Env, name string, r script.Result) (done bool, err error) {
	switch {
	case r.Err == nil && strings.Contains(r.Out, "confirmed: "):
		script.LogLines(env, r.Out, "confirmed: ")
		return true, nil
	case r.Err == nil:
		return true, engine.WithHint(fmt.Errorf("the network change on %s is no longer waiting for confirmation, and was not reverted: %s", name, strings.TrimSpace(r.Out)),
			"another collabstack run may have confirmed it; compare /etc/network/interfaces with `ip addr` on the host and run apply again")
	case r.Code == confirmReverted:
		return true, c.revertedError(name, r.Out)
	case r.Code == confirmFailed:
		return true, engine.WithHint(fmt.Errorf("the new network configuration did not come up on %s and was put back: %w", name, r.Err),
			"the ifreload output above says why; the file collabstack wrote is %s/interfaces.new on the host", NetStateDir)
	}
	return false, nil
}

// confirmWithin is confirm bounded by deadline even when the transport
// does not notice a stalled connection: the attempt is abandoned (it ends
// on its own once the connection recovers or breaks).
func (c NetChange) confirmWithin(ctx context.Context, env *engine.Env, deadline time.Time) script.Result {
	limit := time.Until(deadline).Round(time.Second)
	actx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	done := make(chan script.Result, 1)
	go func() { done <- c.confirm(actx, env) }()
	select {
	case r := <-done:
		return r
	case <-actx.Done():
		return script.Result{Code: -1, Err: fmt.Errorf("%s did not answer within %s: %w", env.Host.Name(), limit, actx.Err())}
	}
}

// confirm runs bridge-confirm.sh twice: STAGE=status returns the token
// the host drew after the change, STAGE=confirm sends it back and
// disarms the timer. Exit 5 means the change is not applied yet.
func (c NetChange) confirm(ctx context.Context, env *engine.Env) script.Result {
	data := map[string]any{"Stage": "status", "Bridge": c.Bridge, "Address": c.Address, "Token": "",
		"StateDir": NetStateDir, "LibDir": hostLibDir}
	r := run(ctx, env, "bridge-confirm.sh", script.Apply, data, false)
	if r.Err != nil || !strings.Contains(r.Out, "token: ") {
		return r
	}
	token := ""
	for _, line := range strings.Split(r.Out, "\n") {
		if t, ok := strings.CutPrefix(line, "token: "); ok {
			token = strings.TrimSpace(t)
		}
	}
	data["Stage"], data["Token"] = "confirm", token
	return run(ctx, env, "bridge-confirm.sh", script.Apply, data, false)
}

func (c NetChange) revertedError(name, out string) error {
	why := ""
	for _, line := range strings.Split(out, "\n") {
		if w, ok := strings.CutPrefix(line, "reverted: "); ok {
			why = w
		}
	}
	return engine.WithHint(fmt.Errorf("the new network configuration cut collabstack off from %s, so the host put its previous configuration back (%s)", name, why),
		"nothing is lost: the host runs as before. Check the bridge settings against the host's network (docs/proxmox.md, \"The bridge\"); the rejected file is %s/interfaces.new and the revert log %s/revert.log", NetStateDir, NetStateDir)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
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
