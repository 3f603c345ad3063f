package apps

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
)

// MarkdownDoc is docs/apps.md, generated from the catalog's metadata.
func MarkdownDoc(c *Catalog) []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# App catalog\n\n")
	p("<!-- Generated from templates/apps/*/app.yaml and contract.yaml by `go test ./steps/apps -run TestDocs -update`; do not edit. -->\n\n")
	p("Choose apps under `components:` in the site file (or in the wizard); what they require is added by itself, and the edge proxy comes with any web app. ")
	p("Each app is a folder under `templates/apps/`: `app.yaml` (this page's facts), `stack.yaml.tmpl` and, for web apps, `nginx.conf.tmpl`. ")
	p("RAM, CPU and disk are typical use, not limits; every service also has a memory limit in its stack.\n\n")
	p("| App | Category | Web address | RAM | CPU | Disk | SSO | License | Requires |\n")
	p("|---|---|---|---:|---:|---:|---|---|---|\n")
	for _, a := range c.Apps() {
		addr := "–"
		if a.Web {
			addr = "`" + a.Subdomain + ".<domain>`"
		}
		lic := a.License.SPDX
		if a.License.OpenCore {
			lic += " **(open core)**"
		}
		name := fmt.Sprintf("[%s](#%s)", a.Title, a.Name)
		if a.Kind == KindService {
			name += " (shared)"
		}
		if a.Optional {
			name += " (optional)"
		}
		req := "–"
		if len(a.Requires) > 0 {
			req = strings.Join(a.Requires, ", ")
		}
		p("| %s | %s | %s | %d MB | %s | %d GB | %s | %s | %s |\n", name, a.Category, addr, a.Resources.RAMMB, trimFloat(a.Resources.CPU), a.Resources.DiskGB, strings.Join(a.SSO, ", "), lic, req)
	}
	all, err := c.Resolve(c.Names())
	if err == nil {
		if t, err := c.Budget(all); err == nil {
			p("\nEverything together: %s. ", t)
			if err := t.Check(Seed000); err != nil {
				p("On %s (%d GB RAM, %.0f cores, %d GB disk, %.0f GB kept for the host systems) that is too much: %v.\n", Seed000.Name, Seed000.RAMMB/1024, Seed000.Cores, Seed000.DiskGB, gb(Seed000.Reserve()), err)
			} else {
				p("That fits %s (%d GB RAM, %.0f cores, %d GB disk, %.0f GB kept for the host systems).\n", Seed000.Name, Seed000.RAMMB/1024, Seed000.Cores, Seed000.DiskGB, gb(Seed000.Reserve()))
			}
		}
	}
	if err == nil {
		if by, err := c.BudgetByPlacement(all, RenderInput{}); err == nil {
			p("\nBy placement (every app on its default nodes): ")
			var parts []string
			for _, l := range sortedKeys(by) {
				parts = append(parts, fmt.Sprintf("nodes labelled role=%s %s", l, by[l]))
			}
			p("%s. The Proxmox topologies' default VMs are swarm-manager (infra, 8 GB) and swarm-worker (common, 32 GB): size them for the apps you choose, or move apps with components.<app>.placement.\n", strings.Join(parts, "; "))
		}
	}
	for _, a := range c.Apps() {
		p("\n## %s\n\n", a.Name)
		p("**%s** — %s\n\n", a.Title, a.Description)
		p("- Upstream: %s\n", a.Upstream)
		lic := a.License.SPDX
		if a.License.OpenCore {
			lic += "; **open core** (a proprietary edition exists; prefer a fully free alternative)"
		}
		if a.License.Note != "" {
			lic += ". " + a.License.Note
		}
		p("- License: %s\n", lic)
		var imgs []string
		for _, svc := range sortedKeys(a.Images) {
			if img := "`" + a.Images[svc] + "`"; !contains(imgs, img) {
				imgs = append(imgs, img)
			}
		}
		p("- Images: %s\n", strings.Join(imgs, ", "))
		p("- Part of: %s%s\n", presetsOf(a.Seeds), map[bool]string{true: " (optional there)", false: ""}[a.Optional])
		if a.Web {
			p("- Address: `https://%s.<domain>`\n", a.Subdomain)
		}
		if d := a.Database; d != nil {
			p("- Database: `%s` (user `%s`) on %s, created by collabstack\n", d.Name, d.User, d.Engine)
		}
		if a.Redis != nil {
			p("- Redis: database %d of the shared Redis\n", a.Redis.DB)
		}
		for _, port := range a.Ports {
			rng := ""
			if port.Range > 0 {
				rng = fmt.Sprintf("-%d", port.Range)
			}
			reach := "public, forwarded by the outer router"
			if !port.Public {
				reach = "LAN, VPN and admin networks only"
			}
			how := "published on the edge's node"
			if port.Via == ViaEdge {
				how = fmt.Sprintf("through the edge's stream proxy to %s:%d", Hostname(a.Name, port.ServiceOf(a)), port.TargetPort())
			}
			p("- Port %d%s/%s: %s (%s; %s)\n", port.Port, rng, port.Protocol, port.Use, reach, how)
		}
		p("- Placement: nodes labelled `%s=%s` (components.%s.placement changes it)\n", "role", a.Placement, a.Name)
		if a.Accounts != "" {
			p("- Accounts: %s\n", a.Accounts)
		}
		if a.Admin != "" {
			p("- Admin: %s\n", a.Admin)
		}
		contractLines(c, a.Name, p)
		if len(a.Strengths) > 0 {
			p("\nStrengths:\n\n")
			for _, s := range a.Strengths {
				p("- %s\n", s)
			}
		}
		if len(a.Weaknesses) > 0 {
			p("\nWeaknesses:\n\n")
			for _, s := range a.Weaknesses {
				p("- %s\n", s)
			}
		}
		if len(a.Options) > 0 {
			p("\nOptions (`components.%s.options`):\n\n", a.Name)
			for _, n := range sortedKeys(a.Options) {
				o := a.Options[n]
				p("- `%s` (%s, default `%s`): %s\n", n, o.Type, defaultText(o.Default), o.Description)
			}
		}
		if a.Notes != "" {
			p("\n%s\n", a.Notes)
		}
	}
	return b.Bytes()
}

// contractLines say, from the app's upstream contract, what a lab test
// proved live and what still needs a manual step after install.
func contractLines(c *Catalog, app string, p func(string, ...any)) {
	ct, err := c.Contract(app)
	if err != nil {
		p("- Upstream contract: none yet (templates/apps/%s/%s)\n", app, ContractFile)
		return
	}
	proven := strings.TrimSpace(ct.Proven)
	if proven == "" {
		proven = "nothing yet: no lab test deploys it"
	}
	p("- Proven live: %s\n", proven)
	manual := strings.TrimSpace(ct.Manual)
	if manual == "" {
		manual = "none"
	}
	p("- Manual step after install: %s\n", manual)
}

func defaultText(v any) string {
	switch x := v.(type) {
	case nil:
		return "[]"
	case []any:
		var s []string
		for _, e := range x {
			s = append(s, fmt.Sprint(e))
		}
		return "[" + strings.Join(s, ", ") + "]"
	case string:
		if x == "" {
			return `""`
		}
	}
	return fmt.Sprint(v)
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

// presetsOf names, in plain words, the kinds of site that ask for an app
// (the seeds field of its metadata).
func presetsOf(seeds []string) string {
	names := map[string]string{"000": "the collaboration suite", "001": "fediverse hosting", "003": "fediverse hosting", "004": "core services"}
	var out []string
	seen := map[string]bool{}
	s := append([]string(nil), seeds...)
	sort.Strings(s)
	for _, x := range s {
		n := names[x]
		if n == "" {
			n = "other sites"
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}
