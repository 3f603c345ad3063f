package network

import (
	"context"
	"fmt"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

// Component is the --only name of the network steps.
const Component = "network"

// SoftEtherID is a SoftEther step's ID: "network/softether/vpn-softether/users".
func SoftEtherID(vpnHost, what string) string { return "network/softether/" + vpnHost + "/" + what }

// SoftEtherSteps sets up the SoftEther VPN server on vpnHost (a Debian
// host: the vpn-softether VM or a site host with role vpn) and writes a
// client bundle per VPN user under stateDir/vpn-clients.
func SoftEtherSteps(s *site.Site, vpnHost, stateDir string) []engine.Step {
	return SoftEtherStepsWith(s, vpnHost, stateDir, SoftEtherOptions{})
}

// SoftEtherStepsWith is SoftEtherSteps with options.
func SoftEtherStepsWith(s *site.Site, vpnHost, stateDir string, o SoftEtherOptions) []engine.Step {
	o = o.withDefaults(s, vpnHost)
	v := vpncmd{port: o.AdminPort, timeout: o.Timeout}
	id := func(what string) string { return SoftEtherID(vpnHost, what) }
	f := func(what, title string, needs []string, check func(context.Context, *engine.Env) (bool, error), apply func(context.Context, *engine.Env) error) engine.Step {
		return &engine.Func{StepID: id(what), Name: title, On: vpnHost, Comp: Component, Needs: needs, CheckFunc: check, ApplyFunc: apply}
	}
	admin := func(env *engine.Env) (string, error) {
		if env.Secrets == nil {
			return "", fmt.Errorf("no secrets store to keep %s in", SoftEtherAdminSecret)
		}
		return env.Secrets.Password(SoftEtherAdminSecret, 24)
	}
	state := func(ctx context.Context, env *engine.Env) (*softState, string, error) {
		pw, err := admin(env)
		if err != nil {
			return nil, "", err
		}
		st, err := v.readState(ctx, env, pw, o.Hub)
		if err != nil {
			return nil, "", fmt.Errorf("read the VPN server's settings on %s: %w", vpnHost, err)
		}
		return st, pw, nil
	}
	exec := func(ctx context.Context, env *engine.Env, pw string, cmds []string, what string) error {
		res, err := v.run(ctx, env.Host, pw, cmds)
		if err == nil {
			err = res.failed()
		}
		if err != nil {
			return engine.WithHint(fmt.Errorf("%s on %s: %w", what, vpnHost, err),
				"the VPN server's log is in /var/log/softether on %s; `vpncmd localhost:%d /SERVER` (admin password: `collabstack secret show %s`) shows its settings", vpnHost, o.AdminPort, SoftEtherAdminSecret)
		}
		return nil
	}
	plan, planErr := secureNATOf(s)
	if o.Mode != ModeSecureNAT {
		planErr = nil
	}

	steps := []engine.Step{
		script.Step(script.Spec{ID: id("install"), Title: "Install the SoftEther VPN server on " + vpnHost, Host: vpnHost, Component: Component,
			Needs: []string{layout.ReachID(vpnHost)}, Path: Dir + "softether/install.sh", Data: script.Fixed(map[string]any{}),
			Hint: fmt.Sprintf("the package is softether-vpnserver (Debian 12 and later, Ubuntu universe); `apt-cache policy softether-vpnserver` on %s shows whether apt finds it", vpnHost)}),
		script.Step(script.Spec{ID: id("service"), Title: "Start the SoftEther VPN server on " + vpnHost, Host: vpnHost, Component: Component,
			Needs: []string{id("install")}, Path: Dir + "softether/service.sh.tmpl", Data: script.Fixed(map[string]any{"Port": o.AdminPort}),
			Hint: fmt.Sprintf("`journalctl -u softether-vpnserver` on %s says why it does not run; collabstack talks to it on port %d", vpnHost, o.AdminPort)}),
		f("admin", "Set the VPN server's admin password on "+vpnHost, []string{id("service")},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				pw, err := admin(env)
				if err != nil {
					return false, err
				}
				return v.adminIsOurs(ctx, env, pw)
			},
			func(ctx context.Context, env *engine.Env) error {
				pw, err := admin(env)
				if err != nil {
					return err
				}
				arg, err := vpnArg(pw)
				if err != nil {
					return err
				}
				// A fresh server has no password: vpncmd does not read stdin.
				if err := exec(ctx, env, pw, []string{"ServerPasswordSet " + arg}, "set the admin password"); err != nil {
					return err
				}
				ok, err := v.adminIsOurs(ctx, env, pw)
				if err == nil && !ok {
					err = fmt.Errorf("the VPN server on %s still has no admin password", vpnHost)
				}
				return err
			}),
		f("hub", "Create the virtual hub "+o.Hub+" on "+vpnHost, []string{id("admin")},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				st, _, err := state(ctx, env)
				return err == nil && st.Hubs[o.Hub], err
			},
			func(ctx context.Context, env *engine.Env) error {
				_, pw, err := state(ctx, env)
				if err != nil {
					return err
				}
				hubPW, err := env.Secrets.Password(SoftEtherHubSecret, 24)
				if err != nil {
					return err
				}
				arg, err := vpnArg(hubPW)
				if err != nil {
					return err
				}
				return exec(ctx, env, pw, []string{fmt.Sprintf("HubCreate %s /PASSWORD:%s", o.Hub, arg)}, "create the hub "+o.Hub)
			}),
		f("nat", natTitle(o, vpnHost), []string{id("hub")},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				if planErr != nil {
					return false, planErr
				}
				st, _, err := state(ctx, env)
				return err == nil && natDone(st, o, plan), err
			},
			func(ctx context.Context, env *engine.Env) error {
				st, pw, err := state(ctx, env)
				if err != nil {
					return err
				}
				err = exec(ctx, env, pw, natCommands(st, o, plan), "connect the hub to the network")
				if err != nil && o.Mode == ModeBridge {
					return engine.WithHint(err, "SoftEther bridges the hub to %s on %s: check the NIC exists (`ip link`), or set the SoftEther mode to %s", o.BridgeDevice, vpnHost, ModeSecureNAT)
				}
				return err
			}),
		f("users", "Create the VPN users on "+vpnHost, []string{id("hub")},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				st, _, err := state(ctx, env)
				if err != nil {
					return false, err
				}
				markers, _, err := wantUsers(env, s)
				return err == nil && usersDone(st, markers), err
			},
			func(ctx context.Context, env *engine.Env) error {
				st, pw, err := state(ctx, env)
				if err != nil {
					return err
				}
				markers, passwords, err := wantUsers(env, s)
				if err != nil {
					return err
				}
				cmds, err := userCommands(st, o.Hub, markers, passwords)
				if err != nil {
					return err
				}
				env.Logf("%d VPN user(s) in hub %s", len(markers), o.Hub)
				return exec(ctx, env, pw, cmds, "set up the VPN users")
			}),
		f("protocols", protocolsTitle(o, vpnHost), []string{id("hub")},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				st, _, err := state(ctx, env)
				if err != nil {
					return false, err
				}
				psk, err := env.Secrets.Password(SoftEtherPSKSecret, 16)
				return err == nil && protocolsDone(st, o, psk), err
			},
			func(ctx context.Context, env *engine.Env) error {
				st, pw, err := state(ctx, env)
				if err != nil {
					return err
				}
				psk, err := env.Secrets.Password(SoftEtherPSKSecret, 16)
				if err != nil {
					return err
				}
				cmds, err := protocolCommands(st, o, psk)
				if err != nil {
					return err
				}
				return exec(ctx, env, pw, cmds, "set up L2TP/IPsec and OpenVPN")
			}),
		clientsStep(s, vpnHost, stateDir, o, v, id("clients"), []string{id("users"), id("protocols")}),
	}
	return steps
}

func natTitle(o SoftEtherOptions, h string) string {
	if o.Mode == ModeBridge {
		return fmt.Sprintf("Bridge the hub %s to %s on %s", o.Hub, o.BridgeDevice, h)
	}
	return fmt.Sprintf("Turn on SecureNAT in the hub %s on %s", o.Hub, h)
}

func protocolsTitle(o SoftEtherOptions, h string) string {
	switch {
	case o.NoL2TP && o.NoOpenVPN:
		return "Turn off L2TP/IPsec and OpenVPN on " + h
	case o.NoL2TP:
		return "Turn on OpenVPN on " + h
	case o.NoOpenVPN:
		return "Turn on L2TP/IPsec on " + h
	}
	return "Turn on L2TP/IPsec and OpenVPN on " + h
}
