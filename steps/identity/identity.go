// Package identity is the site's accounts: the directory (OpenLDAP) with
// its tree, password policy and one read-only account per consumer, and
// the people in it (`collabstack users`). Every operation is a shell
// script from templates/identity, rendered with its values shell-quoted
// and fed on stdin to sh inside the OpenLDAP container (docker exec on
// the swarm node that runs it); it talks to slapd over ldapi:/// as root
// (SASL EXTERNAL), so no directory password is needed, and a user's
// password travels inside that stdin only: never an argument, an
// environment value or a log line.
package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
)

// App is the directory's app in the catalog.
const App = "openldap"

// Service is the directory's swarm service (stack openldap, service openldap).
const Service = "openldap_openldap"

// AdminsGroup is the group of the site's administrators.
const AdminsGroup = "admins"

// BaseDN turns the site's domain into the directory's base DN, as the
// openldap stack does (LDAP_BASE_DN): example.org is dc=example,dc=org.
func BaseDN(domain string) string {
	return "dc=" + strings.Join(strings.Split(domain, "."), ",dc=")
}

// ReaderDN is the read-only account of a consumer (keycloak, freeradius).
func ReaderDN(domain, consumer string) string {
	return "cn=" + consumer + ",ou=services," + BaseDN(domain)
}

// UserDN is a person's entry.
func UserDN(domain, uid string) string { return "uid=" + uid + ",ou=people," + BaseDN(domain) }

// Container is where the directory runs: a host that has docker and the
// ID of the OpenLDAP container on it.
type Container struct {
	Host host.Host
	ID   string
}

// exec feeds a script to sh in the container. Output (when not nil) gets
// the lines as they come; the script itself is never shown.
func (c Container) exec(ctx context.Context, script string, output func(string)) (string, error) {
	cmd := "docker exec -i " + host.Quote(c.ID) + " sh -s"
	return c.Host.Run(ctx, cmd, host.RunOpts{Sudo: true, Stdin: []byte(script), Output: output})
}

// Find finds a running container of the directory's service: on h (the
// manager) first, else on the node the swarm says runs it, reached
// through hosts (nil: only h). found is false while none runs.
func Find(ctx context.Context, h host.Host, hosts *engine.Inventory) (c Container, found bool, err error) {
	q := "docker ps -q --filter status=running --filter " + host.Quote("label=com.docker.swarm.service.name="+Service)
	out, err := h.Run(ctx, q, host.RunOpts{Sudo: true})
	if err != nil {
		return Container{}, false, fmt.Errorf("list the containers of %s on %s: %w", Service, h.Name(), err)
	}
	if f := strings.Fields(out); len(f) > 0 {
		return Container{Host: h, ID: f[0]}, true, nil
	}
	if hosts == nil {
		return Container{}, false, nil
	}
	nodes, err := h.Run(ctx, "docker service ps --filter desired-state=running --format '{{.Node}}' "+host.Quote(Service), host.RunOpts{Sudo: true})
	if err != nil {
		return Container{}, false, nil // not deployed yet
	}
	for _, node := range strings.Fields(nodes) {
		if node == h.Name() {
			continue
		}
		if _, ok := hosts.Spec(node); !ok {
			continue
		}
		nh, err := hosts.Get(ctx, node)
		if err != nil {
			return Container{}, false, err
		}
		if out, err := nh.Run(ctx, q, host.RunOpts{Sudo: true}); err == nil && len(strings.Fields(out)) > 0 {
			return Container{Host: nh, ID: strings.Fields(out)[0]}, true, nil
		}
	}
	return Container{}, false, nil
}

// ErrNoDirectory says the directory does not run (yet).
var ErrNoDirectory = errors.New("the directory (OpenLDAP) does not run")

func noDirectory() error {
	return engine.WithHint(ErrNoDirectory, "add openldap to the site's components and run `collabstack apply`; `collabstack status` shows whether openldap_openldap runs")
}
