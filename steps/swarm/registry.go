package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/site"
)

// The registry of the site's own images listens on the manager's address
// at RegistryPort, with HTTPS from the site's CA (every node trusts that
// CA for this registry only, through /etc/docker/certs.d) and a password
// (htpasswd, bcrypt): nothing on the LAN pushes to it unasked.
const (
	RegistryPort = "5000"
	RegistryUser = "collabstack"
	// RegistryPasswordSecret names the registry password in the secrets file.
	RegistryPasswordSecret = "registry-password"
	// RegistryDir on the manager holds the registry's certificate and htpasswd.
	RegistryDir = layout.Root + "/registry"
)

// Registry step IDs.
const (
	RegistryCertID  = "swarm/registry/cert"
	RegistryLoginID = "swarm/registry/login"
)

// RegistryTrustID names the step making a node trust the registry.
func RegistryTrustID(h string) string { return "swarm/registry/trust/" + h }

// RegistryAddress is host:port of the registry, as every node reaches it.
func RegistryAddress(managerAddress string) string {
	if strings.Contains(managerAddress, ":") { // IPv6
		return "[" + managerAddress + "]:" + RegistryPort
	}
	return managerAddress + ":" + RegistryPort
}

func siteCA(env *engine.Env, siteName string, scope pki.Scope) (*pki.Authority, error) {
	return pki.Load(env.Secrets, siteName, scope)
}

// registrySteps: the certificate and password file on the manager, the
// CA on every node, and docker login on the manager once the registry runs.
func registrySteps(siteName string, scope pki.Scope, mgr site.Host, members []site.Host) []engine.Step {
	steps := []engine.Step{&engine.Func{
		StepID: RegistryCertID, Name: "Make the registry's certificate and password on " + mgr.Name, On: mgr.Name, Comp: Component,
		Needs: []string{InitID},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			ca, err := siteCA(env, siteName, scope)
			if err != nil {
				return false, err
			}
			cert, err := env.Host.ReadFile(ctx, RegistryDir+"/cert.pem")
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			if err != nil || !ca.Valid(cert, address(env, mgr)) {
				return false, err
			}
			pw, err := env.Secrets.Password(RegistryPasswordSecret, 24)
			if err != nil {
				return false, err
			}
			hp, err := env.Host.ReadFile(ctx, RegistryDir+"/htpasswd")
			if err != nil {
				return false, nil
			}
			hash, ok := strings.CutPrefix(strings.TrimSpace(string(hp)), RegistryUser+":")
			return ok && bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			ca, err := siteCA(env, siteName, scope)
			if err != nil {
				return err
			}
			cert, key, err := ca.Issue(address(env, mgr))
			if err != nil {
				return err
			}
			pw, err := env.Secrets.Password(RegistryPasswordSecret, 24)
			if err != nil {
				return err
			}
			hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
			if err != nil {
				return err
			}
			for name, f := range map[string]struct {
				data []byte
				mode fs.FileMode
			}{
				"key.pem":  {key, 0o600},
				"cert.pem": {append(cert, ca.CertPEM()...), 0o644},
				"htpasswd": {[]byte(RegistryUser + ":" + string(hash) + "\n"), 0o600},
			} {
				if err := env.Host.Upload(ctx, RegistryDir+"/"+name, f.data, f.mode, "root"); err != nil {
					return fmt.Errorf("write the registry's %s on %s: %w", name, mgr.Name, err)
				}
			}
			// A running registry reads its files at start only.
			if out, err := env.Host.Run(ctx, "docker service inspect --format ok shared_registry", host.RunOpts{Sudo: true}); err == nil && strings.TrimSpace(out) == "ok" {
				_, err = env.Sudo(ctx, "docker service update --force --detach shared_registry")
				return err
			}
			return nil
		},
	}}
	for _, m := range members {
		m := m
		path := func(env *engine.Env) string {
			return "/etc/docker/certs.d/" + RegistryAddress(address(env, mgr)) + "/ca.crt"
		}
		needs := []string{InitID}
		if m.Name != mgr.Name {
			needs = []string{JoinID(m.Name)}
		}
		steps = append(steps, &engine.Func{
			StepID: RegistryTrustID(m.Name), Name: "Let " + m.Name + " trust the site's registry", On: m.Name, Comp: Component, Needs: needs,
			CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
				ca, err := siteCA(env, siteName, scope)
				if err != nil {
					return false, err
				}
				have, err := env.Host.ReadFile(ctx, path(env))
				if errors.Is(err, fs.ErrNotExist) {
					return false, nil
				}
				return err == nil && bytes.Equal(have, ca.CertPEM()), err
			},
			ApplyFunc: func(ctx context.Context, env *engine.Env) error {
				ca, err := siteCA(env, siteName, scope)
				if err != nil {
					return err
				}
				return env.Host.Upload(ctx, path(env), ca.CertPEM(), 0o644, "root")
			},
		})
	}
	steps = append(steps, &engine.Func{
		StepID: RegistryLoginID, Name: "Log the manager in to the site's registry", On: mgr.Name, Comp: Component,
		Needs: []string{SharedID, RegistryTrustID(mgr.Name)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			cfg, err := env.Host.Run(ctx, "cat /root/.docker/config.json 2>/dev/null || true", host.RunOpts{Sudo: true})
			if err != nil {
				return false, err
			}
			return strings.Contains(cfg, `"`+RegistryAddress(address(env, mgr))+`"`), nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			pw, err := env.Secrets.Password(RegistryPasswordSecret, 24)
			if err != nil {
				return err
			}
			reg := RegistryAddress(address(env, mgr))
			// The registry's task may still be starting.
			var last error
			for i := 0; i < 30; i++ {
				_, last = env.Host.Run(ctx, "docker login --username "+RegistryUser+" --password-stdin "+host.Quote(reg), host.RunOpts{Sudo: true, Stdin: []byte(pw)})
				if last == nil {
					env.Logf("logged in to %s; push your own images there (collabstack images push)", reg)
					return nil
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(2 * time.Second):
				}
			}
			return engine.WithHint(fmt.Errorf("log in to the registry %s: %w", reg, last), "`docker service ps shared_registry --no-trunc` on %s tells why the registry does not answer", mgr.Name)
		},
	})
	return steps
}
