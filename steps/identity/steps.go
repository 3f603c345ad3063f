package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

// DirectoryID is the step that keeps the directory's tree.
const DirectoryID = "identity/directory"

// DirectoryScript is its template.
const DirectoryScript = "identity/directory.sh"

// ReadyTimeout bounds the wait for the directory's container.
const ReadyTimeout = 10 * time.Minute

// BindSecret is the secret (in the site's secrets file) of a consumer's
// read-only account; templates read it as secretOf "openldap" "bind-NAME".
func BindSecret(consumer string) string { return apps.SecretName(App, "bind-"+consumer) }

// Readers are the consumers of the directory among the site's apps: every
// selected app that speaks LDAP (sso: ldap in its app.yaml), but the
// directory itself. Each gets its own read-only account.
func Readers(c *apps.Catalog, selected []string) []string {
	var out []string
	for _, n := range selected {
		a, ok := c.Get(n)
		if !ok || n == App || !slices.Contains(a.SSO, "ldap") {
			continue
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Steps returns the identity steps of a site: with the directory, its
// tree after its deploy; with Keycloak, its realm, federation and clients.
func Steps(s *site.Site, c *apps.Catalog, manager string) ([]engine.Step, error) {
	selected, err := c.Selected(s)
	if err != nil {
		return nil, err
	}
	var out []engine.Step
	if slices.Contains(selected, App) {
		out = append(out, DirectoryStep(s.Domain, Readers(c, selected), manager))
		u, ok, err := FirstAdmin(s)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, FirstAdminStep(s.Domain, u, manager))
		}
	}
	if slices.Contains(selected, KeycloakApp) {
		out = append(out, SSOStep(s, c, selected, manager, nil))
	}
	return out, nil
}

// reader is one read-only account for the template.
type reader struct{ Name, Password string }

// DirectoryStep keeps the directory's tree, policy and read-only
// accounts (templates/identity/directory.sh): Check reads the live tree
// in the container, Apply adds what is missing.
func DirectoryStep(domain string, readers []string, manager string) engine.Step {
	render := func(env *engine.Env, mode string) (string, error) {
		var rs []reader
		for _, r := range readers {
			pw, err := env.Secrets.Password(BindSecret(r), apps.SecretLength)
			if err != nil {
				return "", err
			}
			rs = append(rs, reader{r, pw})
		}
		text, err := script.Render(DirectoryScript, map[string]any{"Base": BaseDN(domain), "Readers": rs})
		if err != nil {
			return "", err
		}
		return "MODE=" + mode + "\n" + text, nil
	}
	return &engine.Func{
		StepID: DirectoryID, Name: "Set up the directory: tree, password policy, read-only accounts of " + listOr(readers, "no consumer"),
		On: manager, Comp: App, Needs: []string{apps.DeployID(App)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			c, found, err := Find(ctx, env.Host, env.Hosts)
			if err != nil || !found {
				return false, err
			}
			text, err := render(env, "check")
			if err != nil {
				return false, err
			}
			out, err := c.exec(ctx, text, nil)
			var ee *host.ExitError
			switch {
			case err == nil:
				return true, nil
			case errors.As(err, &ee) && ee.Code == script.CheckTodo:
				for _, line := range strings.Split(out, "\n") {
					if strings.HasPrefix(line, "todo: ") {
						env.Logf("%s", strings.TrimPrefix(line, "todo: "))
					}
				}
				return false, nil
			default:
				return false, err
			}
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			c, err := waitFor(ctx, env)
			if err != nil {
				return err
			}
			text, err := render(env, "apply")
			if err != nil {
				return err
			}
			if _, err := c.exec(ctx, text, env.Out); err != nil {
				return engine.WithHint(fmt.Errorf("set up the directory: %w", err), "`collabstack logs openldap` shows what slapd said; the step runs again on the next apply")
			}
			return nil
		},
	}
}

func listOr(l []string, none string) string {
	if len(l) == 0 {
		return none
	}
	return strings.Join(l, ", ")
}

// waitFor waits until the directory's container runs.
func waitFor(ctx context.Context, env *engine.Env) (Container, error) {
	deadline := time.Now().Add(ReadyTimeout)
	said := false
	for {
		c, found, err := Find(ctx, env.Host, env.Hosts)
		if err != nil {
			return Container{}, err
		}
		if found {
			return c, nil
		}
		if time.Now().After(deadline) {
			return Container{}, engine.WithHint(fmt.Errorf("%s did not run within %s", Service, ReadyTimeout), "`docker service ps %s --no-trunc` says where its task is and why it is not running", Service)
		}
		if !said {
			env.Logf("waiting for %s to run", Service)
			said = true
		}
		select {
		case <-ctx.Done():
			return Container{}, ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
}
