package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/swarm"
)

// envOnly are secrets an image reads from its environment only, with no
// *_FILE variant and no shell for an entrypoint wrapper, so they must sit
// in the service's environment (readable by whoever can run `docker
// service inspect`, that is root on a manager), each with its upstream
// reader.
var envOnly = map[string]string{
	swarm.AgentSecretName: "AGENT_SECRET: portainer/agent os/options.go reads it with kingpin's Envar, " +
		"portainer/portainer api/cmd/portainer/main.go with os.Getenv; both images are FROM scratch",
}

// TestNoSecretInSight deploys the kopnik preset with the shared services
// (registry, Portainer) on a lab and scans everything collabstack
// printed (every field of every event of the apply), its journal, the
// services' logs and `docker service inspect` of every service for every
// secret of the site and its derived forms (secrets.Forms: hex,
// URL-encoded, base64 at every alignment, as in a registry auth blob).
// The services are read with docker exec in the lab node's container, not
// through collabstack's SSH transport, which would redact them.
func TestNoSecretInSight(t *testing.T) {
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	server := gitRepo(t, fakeServerFiles)
	client := gitRepo(t, fakeClientFiles)
	dir := t.TempDir()
	network := fmt.Sprintf("cs-sec-%d", os.Getpid()%100000)
	sitePath := filepath.Join(dir, "site.yaml")
	siteYAML := fmt.Sprintf(`version: 1
topology: lab
domain: kopnik.test
admin_email: admin@kopnik.test
lab: {nodes: 2, network: %s, image: docker}
prepare: {node: distro}
components:
  kopnik:
    options: {server_repo: %s, server_ref: master, client_repo: %s, client_ref: master}
`, network, server, client)
	sess := openLabSite(t, sitePath, siteYAML)

	var printed strings.Builder
	emit := func(e engine.Event) {
		fmt.Fprintf(&printed, "%+v\n", e)
		if e.Err != nil {
			fmt.Fprintf(&printed, "%s\n", e.Err.Error())
		}
	}
	sum, err := sess.Run(ctx, install.RunOptions{Emit: emit, Command: "apply"})
	t.Logf("apply: %+v", sum)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, tail(printed.String(), 60))
	}

	sources := map[string]string{"printed by apply": printed.String()}
	j, err := os.ReadFile(sess.JournalPath())
	if err != nil {
		t.Fatal(err)
	}
	sources["journal"] = string(j)
	manager := network + "-1"
	inNode := func(cmd string) string {
		out, err := exec.CommandContext(ctx, "docker", "exec", manager, "sh", "-c", cmd).CombinedOutput()
		if err != nil {
			t.Fatalf("docker exec %s %q: %v\n%s", manager, cmd, err, out)
		}
		return string(out)
	}
	services := strings.Fields(inNode("docker service ls -q"))
	if len(services) < 3 {
		t.Fatalf("only %d services deployed", len(services))
	}
	for _, id := range services {
		name := strings.TrimSpace(inNode("docker service inspect --format '{{.Spec.Name}}' " + id))
		sources["docker service inspect "+name] = inNode("docker service inspect " + id)
		sources["docker service logs "+name] = inNode("docker service logs --raw --no-task-ids --tail 2000 " + id + " 2>&1 || true")
	}

	store, err := secrets.Open(sess.Secrets.Path())
	if err != nil {
		t.Fatal(err)
	}
	names := store.Names()
	if len(names) < 3 {
		t.Fatalf("the site has only %d secrets: %v", len(names), names)
	}
	var leaks []string
	for _, name := range names {
		v, _ := store.Get(name)
		for _, form := range secrets.Forms(v) {
			for where, text := range sources {
				if !strings.Contains(text, form) {
					continue
				}
				if why, ok := envOnly[name]; ok && strings.HasPrefix(where, "docker service inspect") {
					t.Logf("known: %s is in %s (%s)", name, where, why)
					continue
				}
				kind := "itself"
				if form != v {
					kind = "a derived form"
				}
				leaks = append(leaks, fmt.Sprintf("%s (%s) in %s", name, kind, where))
			}
		}
	}
	sort.Strings(leaks)
	for _, l := range leaks {
		t.Errorf("secret in sight: %s", l)
	}
	t.Logf("scanned %d sources for %d secrets: %s", len(sources), len(names), strings.Join(names, ", "))
}
