package cli

import (
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

// catalog returns the app catalog used to check component names.
func (a *app) catalog() site.Catalog { return nil }

// open opens the site named by --config.
func (a *app) open() (*install.Session, error) {
	return install.Open(a.config, install.Options{Catalog: a.catalog(), Dialer: ssh.DialerFor})
}
