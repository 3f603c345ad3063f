package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"path/filepath"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

// DnsmasqOptions tune RenderDnsmasq.
type DnsmasqOptions struct {
	// Listen is the address dnsmasq binds to ("" = every interface).
	Listen string
	// Port is dnsmasq's DNS port (0 = 53).
	Port int
	// LocalDomain is the LAN's domain (default lan).
	LocalDomain string
	// Upstreams replace the site's dns_upstreams ("10.10.0.3#6053").
	Upstreams []string
}

// RenderDnsmasq renders a plain dnsmasq config with the site's split
// horizon, for a router or DNS host that is not OpenWrt (OpenWrt gets the
// same entries through UCI, see RenderUCI). Check it with
// `dnsmasq --test -C FILE`.
func RenderDnsmasq(s *site.Site, o DnsmasqOptions) ([]byte, error) {
	sp, err := SplitOf(s, o.LocalDomain, o.Upstreams...)
	if err != nil {
		return nil, err
	}
	return render("dnsmasq/split.conf.tmpl", map[string]any{"Split": sp, "Listen": o.Listen, "Port": o.Port})
}

// SmartDNSOptions tune DNSSteps and RenderSmartDNS.
type SmartDNSOptions struct {
	// Bind is the address smartdns listens on ("" = every address).
	Bind string
	// Port is its DNS port (default 6053: the routers forward there).
	Port int
	// Conf is the config file (default /etc/smartdns/smartdns.conf);
	// another path runs smartdns by hand instead of through systemd.
	Conf string
	// PIDFile is used when smartdns runs without systemd.
	PIDFile string
}

func (o SmartDNSOptions) withDefaults() SmartDNSOptions {
	if o.Port == 0 {
		o.Port = 6053
	}
	if o.Conf == "" {
		o.Conf = "/etc/smartdns/smartdns.conf"
	}
	if o.PIDFile == "" {
		o.PIDFile = "/run/smartdns-collabstack.pid"
	}
	return o
}

// RenderSmartDNS renders smartdns's config: the site's upstreams for
// outside names, and the app names pointing at the edge.
func RenderSmartDNS(s *site.Site, o SmartDNSOptions) ([]byte, error) {
	o = o.withDefaults()
	sp, err := SplitOf(s, "")
	if err != nil {
		return nil, err
	}
	bind := ""
	if o.Bind != "" {
		a, err := netip.ParseAddr(o.Bind)
		if err != nil {
			return nil, fmt.Errorf("smartdns bind address %q: %w", o.Bind, err)
		}
		bind = a.String()
		if a.Is6() {
			bind = "[" + bind + "]"
		}
	}
	return render("smartdns/smartdns.conf.tmpl", map[string]any{"Split": sp, "Bind": bind, "Port": o.Port})
}

// SmartDNSAddress is what RouterOptions.SmartDNS should be when smartdns
// runs on dnsHost with the default port: "10.10.0.3#6053".
func SmartDNSAddress(s *site.Site, dnsHost string) string {
	n, ok := findNode(s, dnsHost)
	if !ok || !n.Addr.IsValid() {
		return ""
	}
	return fmt.Sprintf("%s#%d", n.Addr, SmartDNSOptions{}.withDefaults().Port)
}

// DNSID is a DNS step's ID: "network/dns/vpn-softether/smartdns-config".
func DNSID(dnsHost, what string) string { return "network/dns/" + dnsHost + "/" + what }

// DNSSteps runs smartdns on dnsHost (a Debian host; seed 000 puts it on
// vpn-softether): install, config from the template, service.
func DNSSteps(s *site.Site, dnsHost string, o SmartDNSOptions) []engine.Step {
	o = o.withDefaults()
	id := func(what string) string { return DNSID(dnsHost, what) }
	svc := map[string]any{"Port": o.Port, "Conf": o.Conf, "PIDFile": o.PIDFile, "Restart": false}
	restart := map[string]any{"Port": o.Port, "Conf": o.Conf, "PIDFile": o.PIDFile, "Restart": true}
	f := func(what, title string, needs []string, check func(context.Context, *engine.Env) (bool, error), apply func(context.Context, *engine.Env) error) engine.Step {
		return &engine.Func{StepID: id(what), Name: title, On: dnsHost, Comp: Component, Needs: needs, CheckFunc: check, ApplyFunc: apply}
	}
	return []engine.Step{
		script.Step(script.Spec{ID: id("smartdns-install"), Title: "Install smartdns on " + dnsHost, Host: dnsHost, Component: Component,
			Needs: []string{layout.ReachID(dnsHost)}, Path: Dir + "smartdns/install.sh", Data: script.Fixed(map[string]any{}),
			Hint: fmt.Sprintf("smartdns is packaged in Debian 12 and later; `apt-cache policy smartdns` on %s shows whether apt finds it", dnsHost)}),
		f("smartdns-config", "Write the smartdns config on "+dnsHost, []string{id("smartdns-install")},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				want, err := RenderSmartDNS(s, o)
				if err != nil {
					return false, err
				}
				have, err := env.Host.ReadFile(ctx, o.Conf)
				if errors.Is(err, fs.ErrNotExist) {
					return false, nil
				}
				return err == nil && bytes.Equal(have, want), err
			},
			func(ctx context.Context, env *engine.Env) error {
				want, err := RenderSmartDNS(s, o)
				if err != nil {
					return err
				}
				if _, err := env.Host.Run(ctx, "mkdir -p "+host.Quote(filepath.Dir(o.Conf)), host.RunOpts{Sudo: true}); err != nil {
					return err
				}
				if err := env.Host.Upload(ctx, o.Conf, want, 0o644, "root"); err != nil {
					return fmt.Errorf("write %s on %s: %w", o.Conf, dnsHost, err)
				}
				// A new config needs a restart.
				return script.Run(ctx, env.Host, Dir+"smartdns/service.sh.tmpl", script.Apply, restart, host.RunOpts{Output: env.Out}).Err
			}),
		script.Step(script.Spec{ID: id("smartdns-service"), Title: "Run smartdns on " + dnsHost, Host: dnsHost, Component: Component,
			Needs: []string{id("smartdns-config")}, Path: Dir + "smartdns/service.sh.tmpl", Data: script.Fixed(svc),
			Hint: fmt.Sprintf("`journalctl -u smartdns` on %s says why it does not start; check that nothing else uses port %d", dnsHost, o.Port)}),
	}
}
