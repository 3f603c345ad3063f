package network

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
	cssh "github.com/collabstack/collabstack/steps/ssh"
)

// RootPasswordSecret is the secret name of a router's root password.
func RootPasswordSecret(router string) string { return "openwrt-root-" + router }

// RouterID is a router step's ID: "network/openwrt/outer-openwrt/uci".
func RouterID(router, what string) string { return "network/openwrt/" + router + "/" + what }

// RouterSteps configures the OpenWrt router called router (a VM of the
// site or an existing host with role router): root password and
// collabstack's SSH key, then WAN, LAN, DHCP, DNS and firewall as one
// UCI batch applied with an automatic revert.
func RouterSteps(s *site.Site, router string) []engine.Step {
	return RouterStepsWith(s, router, RouterOptions{})
}

// RouterStepsWith is RouterSteps with options.
func RouterStepsWith(s *site.Site, router string, o RouterOptions) []engine.Step {
	o = o.withDefaults(s, router)
	access := &engine.Func{
		StepID: RouterID(router, "access"), Name: "Set the root password and SSH key of " + router, On: router, Comp: Component,
		Needs: []string{layout.ReachID(router)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			return runAccess(ctx, env, router, "check")
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			_, err := runAccess(ctx, env, router, "apply")
			return engine.WithHint(err, "collabstack sets the root password with passwd and adds its key to /etc/dropbear/authorized_keys on %s", router)
		},
	}
	uci := &engine.Func{
		StepID: RouterID(router, "uci"), Name: fmt.Sprintf("Configure %s (%s router): LAN, WAN, DHCP, DNS, firewall", router, o.Kind), On: router, Comp: Component,
		Needs: []string{access.StepID},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			_, diff, err := planUCI(ctx, env.Host, s, router, o)
			return err == nil && len(diff) == 0, err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			return applyUCI(ctx, env, s, router, o)
		},
	}
	return []engine.Step{access, uci}
}

// readUCI reads the live network, dhcp and firewall configs.
func readUCI(ctx context.Context, h host.Host) (*UCIState, error) {
	var b strings.Builder
	for _, c := range UCIConfigs {
		out, err := h.Run(ctx, "uci -q show "+c, host.RunOpts{})
		if err != nil {
			return nil, engine.WithHint(fmt.Errorf("read the %s config of %s: %w", c, h.Name(), err), "is %s an OpenWrt router? collabstack needs uci there", h.Name())
		}
		b.WriteString(out)
		b.WriteString("\n")
	}
	return ParseUCIShow(b.String())
}

// planUCI renders the batch against the live state and lists what it
// would change.
func planUCI(ctx context.Context, h host.Host, s *site.Site, router string, o RouterOptions) ([]byte, []string, error) {
	live, err := readUCI(ctx, h)
	if err != nil {
		return nil, nil, err
	}
	batch, err := RenderUCI(s, router, o, live)
	if err != nil {
		return nil, nil, err
	}
	diff, err := UCIChanges(live, batch)
	return batch, diff, err
}

// UCIChanges applies batch to a copy of live and lists the `uci show`
// lines that change; none means the router already has the settings.
func UCIChanges(live *UCIState, batch []byte) ([]string, error) {
	cmds, err := ParseUCIBatch(string(batch))
	if err != nil {
		return nil, err
	}
	want := live.Clone()
	if err := want.Apply(cmds); err != nil {
		return nil, err
	}
	return UCIDiff(live, want, UCIConfigs...), nil
}

func applyUCI(ctx context.Context, env *engine.Env, s *site.Site, router string, o RouterOptions) error {
	h := env.Host
	batch, diff, err := planUCI(ctx, h, s, router, o)
	if err != nil {
		return err
	}
	for _, d := range diff {
		env.Logf("%s", d)
	}
	token, err := secrets.Random(16)
	if err != nil {
		return err
	}
	const batchPath = "/tmp/collabstack-uci.batch"
	if err := h.Upload(ctx, batchPath, batch, 0o600, ""); err != nil {
		return fmt.Errorf("upload the UCI batch to %s: %w", router, err)
	}
	window := int(o.RevertAfter / time.Second)
	data := map[string]any{"Name": router, "Token": token, "Window": window, "Configs": UCIConfigs, "Batch": batchPath}
	script, err := render("openwrt/apply.sh.tmpl", data)
	if err != nil {
		return err
	}
	if _, err := h.Run(ctx, "sh -s", host.RunOpts{Stdin: script, Output: env.Out}); err != nil {
		return engine.WithHint(fmt.Errorf("apply the UCI batch on %s: %w", router, err),
			"nothing was committed when `uci batch` failed; the previous settings are saved in /etc/collabstack/backup on %s", router)
	}
	confirm, err := render("openwrt/confirm.sh.tmpl", data)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(o.RevertAfter - 10*time.Second)
	var last error
	for time.Now().Before(deadline) {
		if err := sleepCtx(ctx, 3*time.Second); err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		out, err := h.Run(cctx, "sh -s", host.RunOpts{Stdin: confirm})
		cancel()
		if err == nil {
			env.Logf("%s: the change is confirmed", router)
			break
		}
		if strings.Contains(out, "reverted") {
			return engine.WithHint(fmt.Errorf("%s restored its previous settings before collabstack could confirm the change", router),
				"the new settings cut collabstack off; check the LAN address and the WAN side firewall in the site file, then run again")
		}
		last = err
		env.Logf("%s: waiting to reconnect (%v)", router, err)
	}
	if !time.Now().Before(deadline) {
		return engine.WithHint(fmt.Errorf("lost the connection to %s after changing its settings: %w", router, last),
			"%s restores its previous settings %d s after the change by itself; reach it on its console if it does not", router, window)
	}
	_, diff, err = planUCI(ctx, h, s, router, o)
	if err != nil {
		return err
	}
	if len(diff) > 0 {
		return engine.WithHint(fmt.Errorf("%s does not show the new settings after the change: %s", router, strings.Join(diff, "; ")),
			"another tool may rewrite /etc/config on %s (a LuCI session with unsaved changes?)", router)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runAccess runs the access script with the root password on stdin.
func runAccess(ctx context.Context, env *engine.Env, router, mode string) (bool, error) {
	if env.Secrets == nil {
		return false, fmt.Errorf("no secrets store to keep %s in", RootPasswordSecret(router))
	}
	pw, err := env.Secrets.Password(RootPasswordSecret(router), 24)
	if err != nil {
		return false, err
	}
	key, err := ourPublicKey(env, router)
	if err != nil {
		return false, err
	}
	script, err := render("openwrt/access.sh.tmpl", map[string]any{"Name": router, "Key": key})
	if err != nil {
		return false, err
	}
	// The script reads the password from its stdin's first line, after
	// the script itself: sh -c keeps them apart.
	cmd := "sh -c " + host.Quote(string(script))
	_, err = env.Host.Run(ctx, cmd, host.RunOpts{Stdin: []byte(pw + "\n"), Env: map[string]string{"MODE": mode}})
	var ee *host.ExitError
	if mode == "check" && errors.As(err, &ee) && ee.Code == 1 {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("root password and SSH key on %s (%s): %w", router, mode, err)
	}
	return true, nil
}

// ourPublicKey is the public key collabstack logs in to name with, in
// authorized_keys form; "" when it uses an agent or a password.
func ourPublicKey(env *engine.Env, name string) (string, error) {
	if env.Hosts == nil {
		return "", nil
	}
	spec, _ := env.Hosts.Spec(name)
	if spec.KeyFile == "" {
		return "", nil
	}
	return PublicKeyOf(spec.KeyFile)
}

// PublicKeyOf reads keyFile.pub, or derives the public key from the
// private key file, in authorized_keys form with a collabstack comment.
func PublicKeyOf(keyFile string) (string, error) {
	return cssh.PublicKeyOf(keyFile, cssh.KeyComment)
}

// FirstBoot renders the /etc/uci-defaults script for a fresh OpenWrt VM
// of the site: NICs in the order of the VM's bridges, hostname, the
// whole UCI batch (rendered against a fresh OpenWrt), collabstack's SSH
// key and the root password (from the secrets store, secret
// RootPasswordSecret(router)). The script holds the password: write it
// into the image 0600; OpenWrt deletes it after the first boot.
func FirstBoot(s *site.Site, router, pubKey, rootPassword string, o RouterOptions) ([]byte, error) {
	o = o.withDefaults(s, router)
	batch, err := RenderUCI(s, router, o, nil)
	if err != nil {
		return nil, err
	}
	data := map[string]any{"Name": router, "Kind": o.Kind, "Key": pubKey, "Password": rootPassword, "Batch": strings.TrimSpace(string(batch)),
		"Devices": false, "LANDevice": "", "WANDevice": "", "HostKey": octal(o.DropbearHostKey)}
	if n, ok := findNode(s, router); ok && n.VM && s.Network != nil && len(n.Bridges) >= 2 {
		up, down := s.Network.WANBridge, s.Network.LANBridge
		if o.Kind == RouterVPN {
			up, down = s.Network.LANBridge, s.Network.VPNBridge
		}
		for i, b := range n.Bridges {
			switch b {
			case up:
				data["WANDevice"] = fmt.Sprintf("eth%d", i)
			case down:
				data["LANDevice"] = fmt.Sprintf("eth%d", i)
			}
		}
		data["Devices"] = data["WANDevice"] != "" && data["LANDevice"] != ""
	}
	return render("openwrt/firstboot.sh.tmpl", data)
}

// octal writes every byte as a \NNN escape, which printf(1) (busybox's
// too) turns back into the byte: binary data in a script, with no
// character the shell or printf reads otherwise.
func octal(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "\\%03o", c)
	}
	return sb.String()
}
