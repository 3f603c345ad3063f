package cli

import (
	"sort"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
	"github.com/collabstack/collabstack/tui"
)

// catalog returns the components a site may name: the app catalog and
// the kopnik preset.
func (a *app) catalog() site.Catalog {
	c, err := a.apps()
	if err != nil {
		return nil
	}
	return components{c}
}

// apps loads the embedded app catalog once.
func (a *app) apps() (*apps.Catalog, error) {
	if a.appCatalog == nil && a.appErr == nil {
		a.appCatalog, a.appErr = apps.Default()
	}
	return a.appCatalog, a.appErr
}

// components is the app catalog plus the kopnik preset.
type components struct{ apps *apps.Catalog }

func (c components) Has(name string) bool { return name == kopnik.Component || c.apps.Has(name) }

func (c components) Names() []string {
	names := append(c.apps.Names(), kopnik.Component)
	sort.Strings(names)
	return names
}

// open opens the site named by --config. A host seen for the first time
// must offer the key its host_key gives, unless --accept-new-host-keys.
func (a *app) open() (*install.Session, error) {
	return install.Open(a.config, install.Options{Catalog: a.catalog(), Dialer: ssh.DialerWith(ssh.HostKeyTrust{AcceptNew: a.acceptNewKeys})})
}

// openReadOnly is open for commands that change nothing (plan): host keys
// are checked but none is pinned, so not even known_hosts is written.
func (a *app) openReadOnly() (*install.Session, error) {
	return install.Open(a.config, install.Options{Catalog: a.catalog(), Dialer: ssh.DialerWith(ssh.HostKeyTrust{AcceptNew: a.acceptNewKeys, ReadOnly: true})})
}

// componentList is the catalog as the wizard shows it.
func (a *app) componentList() []tui.App {
	out := []tui.App{{Name: kopnik.Component, Title: "kopnik.org", Category: "Presets",
		Description: "An exact copy of kopnik.org: Postgres, Crossbar, the node server, the built client behind nginx, an SMTP relay",
		RAMMB:       3072, DiskGB: 10}}
	c, err := a.apps()
	if err != nil {
		return out
	}
	for _, ap := range c.Apps() {
		if ap.Kind == apps.KindEdge {
			continue // always deployed with the apps
		}
		out = append(out, tui.App{Name: ap.Name, Title: ap.Title, Description: ap.Description, Category: ap.Category,
			RAMMB: ap.Resources.RAMMB, DiskGB: ap.Resources.DiskGB, Requires: ap.Requires})
	}
	return out
}
