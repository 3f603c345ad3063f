// Package acme gets TLS certificates from Let's Encrypt (or another ACME
// CA) by HTTP-01 with Debian's certbot on the host that runs the edge
// nginx, installs them where nginx reads them, and keeps them renewed:
// certbot.timer renews, and a deploy hook installs the new certificate and
// makes nginx reload it.
//
// The edge serves /.well-known/acme-challenge/ from Webroot before it has
// a real certificate (it starts on a self-signed one), so the first
// certificate can be had without stopping anything.
package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

// Component is the --only name of the certificate steps.
const Component = "tls"

// Webroot is where certbot leaves HTTP-01 challenges on the edge host;
// edge nginx configs serve /.well-known/acme-challenge/ from it.
const Webroot = layout.Root + "/acme"

// CAFile is where a private ACME CA's certificate is put on the host.
const CAFile = "/etc/collabstack/acme-ca.pem"

// RenewBefore is how long before expiry a certificate counts as due.
const RenewBefore = 30 * 24 * time.Hour

// Cert is one certificate to get and keep.
type Cert struct {
	// Name is certbot's certificate name ("kopnik").
	Name    string
	Domains []string
	// Dir gets fullchain.pem and privkey.pem.
	Dir string
	// Service is the swarm service (of the edge nginx) told to reload.
	Service string
}

// IDs of the steps.
func CertbotID(hostName string) string { return "tls/certbot/" + hostName }
func IssueID(name string) string       { return "tls/issue/" + name }

// Steps gets c on hostName once the steps in needs (the edge nginx is up,
// serving the webroot) are done. It returns nothing for a self-signed site.
func Steps(s *site.Site, hostName string, c Cert, needs ...string) []engine.Step {
	server := s.TLS.ACMEDirectory()
	if server == "" {
		return nil
	}
	caFile := ""
	if s.TLS.ACMECA != "" {
		caFile = CAFile
	}
	certbot := script.Step(script.Spec{
		ID: CertbotID(hostName), Title: "Install certbot and its renewal timer on " + hostName, Host: hostName, Component: Component,
		Path: "acme/certbot.sh", Needs: needs,
		Data: script.Fixed(map[string]any{"CAFile": caFile}),
	})
	if caFile != "" {
		apply := certbot.ApplyFunc
		certbot.ApplyFunc = func(ctx context.Context, env *engine.Env) error {
			pemData, err := os.ReadFile(site.ExpandHome(s.TLS.ACMECA))
			if err != nil {
				return engine.WithHint(fmt.Errorf("read tls.acme_ca: %w", err), "give the path of the ACME server's CA certificate (PEM) on this machine")
			}
			if err := env.Host.Upload(ctx, CAFile, pemData, 0o644, "root"); err != nil {
				return fmt.Errorf("upload the ACME CA to %s: %w", hostName, err)
			}
			return apply(ctx, env)
		}
	}
	issue := &engine.Func{
		StepID: IssueID(c.Name), Name: "Get the certificate for " + strings.Join(c.Domains, ", ") + " from " + serverName(server),
		On: hostName, Comp: Component, Needs: []string{CertbotID(hostName)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			return installed(ctx, env, c, server)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			hook, err := Hook(c)
			if err != nil {
				return err
			}
			text, err := script.Render("acme/issue.sh", map[string]any{
				"Name": c.Name, "Webroot": Webroot, "Server": server, "Email": s.AdminEmail,
				"CAFile": caFile, "Domains": c.Domains, "Hook": strings.TrimSuffix(hook, "\n"),
			})
			if err != nil {
				return err
			}
			if _, err := env.Host.Run(ctx, text, host.RunOpts{Sudo: true, Output: env.Out}); err != nil {
				return engine.WithHint(fmt.Errorf("get the certificate for %s: %w", strings.Join(c.Domains, ", "), err),
					"HTTP-01 needs each name to resolve to %s's public address with port 80 open to the internet; `collabstack dns check` tells whether the names resolve; the site keeps its self-signed certificate meanwhile, and apply tries again", hostName)
			}
			ok, err := installed(ctx, env, c, server)
			if err == nil && !ok {
				err = fmt.Errorf("certbot finished but %s/fullchain.pem is still not a certificate from %s for %s", c.Dir, serverName(server), strings.Join(c.Domains, ", "))
			}
			return err
		},
	}
	return []engine.Step{certbot, issue}
}

// installed: c.Dir holds a certificate from server's CA (certbot's
// renewal config names that server) for every domain, not due for
// renewal.
func installed(ctx context.Context, env *engine.Env, c Cert, server string) (bool, error) {
	conf, err := env.Host.ReadFile(ctx, "/etc/letsencrypt/renewal/"+c.Name+".conf")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !strings.Contains(string(conf), "server = "+server+"\n") {
		env.Logf("the certificate %s comes from another ACME server than %s", c.Name, server)
		return false, nil
	}
	data, err := env.Host.ReadFile(ctx, c.Dir+"/fullchain.pem")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	cert, err := leaf(data)
	if err != nil {
		env.Logf("%s/fullchain.pem: %v", c.Dir, err)
		return false, nil
	}
	if why := Due(cert, c.Domains, time.Now()); why != "" {
		env.Logf("the certificate in %s %s", c.Dir, why)
		return false, nil
	}
	return true, nil
}

// Due says why cert must be replaced ("" when it need not be): it is
// self-signed, misses a domain or expires within RenewBefore.
func Due(cert *x509.Certificate, domains []string, now time.Time) string {
	if bytes.Equal(cert.RawIssuer, cert.RawSubject) {
		return "is self-signed"
	}
	for _, d := range domains {
		if cert.VerifyHostname(d) != nil {
			return "does not cover " + d
		}
	}
	if now.Add(RenewBefore).After(cert.NotAfter) {
		return "expires on " + cert.NotAfter.Format("2006-01-02")
	}
	return ""
}

func leaf(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(b.Bytes)
}

func serverName(server string) string {
	switch server {
	case site.LetsEncryptDirectory:
		return "Let's Encrypt"
	case site.LetsEncryptStagingDirectory:
		return "Let's Encrypt (staging)"
	}
	return server
}

// Hook is certbot's deploy hook for c: it installs a renewed certificate
// in c.Dir and makes c.Service's nginx reload.
func Hook(c Cert) (string, error) {
	return script.RenderFile("acme/deploy-hook.sh", map[string]any{"Name": c.Name, "Dest": c.Dir, "Service": c.Service})
}
