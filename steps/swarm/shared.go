package swarm

import (
	"context"
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/pki"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/templates"
)

// Shared-service step IDs.
const (
	SharedSecretID = "swarm/shared/secret"
	SharedID       = "swarm/shared"
)

// PortainerPasswordSecret names Portainer's admin password in the secrets file.
const PortainerPasswordSecret = "portainer-admin-password"

// SharedImagesFile pins the shared services' images (templates/ is data:
// every image pin lives there).
const SharedImagesFile = "swarm/images.yaml"

// sharedServices are the services of the shared stack.
var sharedServices = []string{"registry", "agent", "portainer"}

// SharedImages returns the shared services' images by service (registry,
// agent, portainer), read from SharedImagesFile: each pinned to a tag.
func SharedImages() (map[string]string, error) {
	var meta struct {
		Images map[string]string `yaml:"images"`
	}
	if err := templates.ReadYAML(SharedImagesFile, &meta); err != nil {
		return nil, err
	}
	for _, svc := range sharedServices {
		ref := meta.Images[svc]
		_, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
		if !ok || tag == "" || tag == "latest" {
			return nil, fmt.Errorf("templates/%s: images.%s is %q: pin it to a version tag", SharedImagesFile, svc, ref)
		}
	}
	if len(meta.Images) != len(sharedServices) {
		return nil, fmt.Errorf("templates/%s: images has %d entries; the shared stack has the services %s", SharedImagesFile, len(meta.Images), strings.Join(sharedServices, ", "))
	}
	return meta.Images, nil
}

// AgentSecretName is the secret Portainer and its agent share
// (AGENT_SECRET).
const AgentSecretName = "portainer-agent-secret"

// PortainerSecretBase is the swarm secret (its versions) holding
// Portainer's admin password.
const PortainerSecretBase = "portainer_admin_password"

// portainerSecret is Portainer's admin password as a swarm secret:
// Portainer reads --admin-password-file only while it has no admin yet
// (its first start), so a changed value is refused, not rotated.
func portainerSecret(_ context.Context, env *engine.Env) ([]Secret, error) {
	pw, err := env.Secrets.Password(PortainerPasswordSecret, 24)
	if err != nil {
		return nil, err
	}
	return []Secret{{Base: PortainerSecretBase, Value: []byte(pw), Source: PortainerPasswordSecret, Fixed: true,
		Why: "Portainer reads it only at its first start and keeps its admin password in its own database (change it in Portainer's UI, then here)"}}, nil
}

// RenderShared renders the shared stack with the agent's shared secret
// and the version of Portainer's admin password secret.
func RenderShared(agentSecret, portainerSecret string) (Stack, error) {
	images, err := SharedImages()
	if err != nil {
		return Stack{}, err
	}
	b, err := templates.Render("swarm/shared.yaml.tmpl", map[string]any{"Images": images, "RegistryDir": RegistryDir, "AgentSecret": agentSecret, "PortainerSecret": portainerSecret}, nil)
	if err != nil {
		return Stack{}, fmt.Errorf("render the shared stack: %w", err)
	}
	return Stack{Name: "shared", Files: map[string][]byte{"stack.yaml": b}}, nil
}

// SharedSteps deploy the registry (HTTPS from the site's CA, password in
// the secrets file) and Portainer (admin password generated into the
// secrets file, handed over as a swarm secret) on the manager of hosts;
// the deploy also comes after deployAfter. siteName names the site's CA
// and scope constrains it (pki.ScopeOf), if the registry is the first to
// need it.
func SharedSteps(siteName string, scope pki.Scope, hosts []site.Host, deployAfter ...string) ([]engine.Step, error) {
	mgr, workers, err := Members(hosts)
	if err != nil {
		return nil, err
	}
	manager := mgr.Name
	steps := []engine.Step{
		SecretsStep(SharedSecretID, "Create Portainer's admin password as a swarm secret", manager, Component, []string{InitID}, portainerSecret),
		DeployStep(SharedID, "Deploy the registry and Portainer", manager, Component, append([]string{ReadyID, SharedSecretID, RegistryCertID}, deployAfter...),
			func(ctx context.Context, env *engine.Env) (Stack, error) {
				secret, err := env.Secrets.Password(AgentSecretName, 32)
				if err != nil {
					return Stack{}, err
				}
				key, err := VersionKey(env)
				if err != nil {
					return Stack{}, err
				}
				ps, err := portainerSecret(ctx, env)
				if err != nil {
					return Stack{}, err
				}
				return RenderShared(secret, ps[0].Name(key))
			}),
	}
	return append(steps, registrySteps(siteName, scope, mgr, append([]site.Host{mgr}, workers...))...), nil
}
