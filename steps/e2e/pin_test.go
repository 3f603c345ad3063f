package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/ssh"
)

// TestPinnedAppStaysOnItsNode: Redis placed on the common label of a
// 2-node lab is pinned by its first deploy to the one common node
// (lab-2: node label collabstack.app.redis=1) and keeps a value in its
// volume there. The lab grows to 3 nodes (lab-3 joins with the same
// label), its service is re-deployed by docker (a forced update, which
// without the pin may start the task on the new, emptier node) and
// applied again: the task stays on lab-2 with its data, lab-3 has no
// Redis volume, and the apply does not touch Redis. What it cannot show:
// the real Redis image (a stand-in from Debian's redis-server runs).
func TestPinnedAppStaysOnItsNode(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.yaml")
	net := fmt.Sprintf("cs-pin-%d", os.Getpid()%100000)
	siteYAML := func(nodes int) string {
		return fmt.Sprintf(`version: 1
topology: lab
domain: pin.test
admin_email: admin@pin.test
lab: {nodes: %d, network: %s, image: docker}
prepare: {node: distro}
components:
  redis: {placement: common}
`, nodes, net)
	}
	sess := openLabSite(t, sitePath, siteYAML(2))
	freshApply(t, ctx, sess)
	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	run := func(h host.Host, cmd string) string {
		t.Helper()
		out, err := h.Run(ctx, cmd, host.RunOpts{})
		if err != nil {
			t.Fatalf("%s on %s: %v\n%s", cmd, h.Name(), err, out)
		}
		return strings.TrimSpace(out)
	}
	pinned := func() string {
		t.Helper()
		return run(mgr, `docker node ls -q | xargs docker node inspect --format '{{.Description.Hostname}} {{index .Spec.Labels "collabstack.app.redis"}}' | awk '$2 == "1" {print $1}'`)
	}
	taskNode := func() string {
		t.Helper()
		var out string
		for i := 0; i < 60; i++ {
			out = run(mgr, `docker service ps --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' redis_redis`)
			if f := strings.Fields(out); len(f) >= 2 && f[1] == "Running" && len(strings.Split(out, "\n")) == 1 {
				return f[0]
			}
			time.Sleep(2 * time.Second)
		}
		t.Fatalf("redis_redis does not run one task: %s", out)
		return ""
	}
	redis := func(node, cmd string) string {
		t.Helper()
		h, err := sess.Hosts.Get(ctx, node)
		if err != nil {
			t.Fatal(err)
		}
		var out string
		for i := 0; i < 30; i++ {
			out, err = h.Run(ctx, `docker exec $(docker ps -q -f name=redis_redis. | head -n1) sh -c 'REDISCLI_AUTH="$(sed -n "s/^requirepass //p" /run/secrets/redis_conf)" redis-cli `+cmd+`'`, host.RunOpts{})
			if err == nil {
				return strings.TrimSpace(out)
			}
			time.Sleep(2 * time.Second)
		}
		t.Fatalf("redis-cli %s on %s: %v %s", cmd, node, err, out)
		return ""
	}

	// 1. The first deploy pins Redis to the one common node.
	if p := pinned(); p != "lab-2" {
		t.Fatalf("redis is pinned to %q, want lab-2", p)
	}
	if n := taskNode(); n != "lab-2" {
		t.Fatalf("redis runs on %s", n)
	}
	if c := run(mgr, `docker service inspect --format '{{join .Spec.TaskTemplate.Placement.Constraints ","}}' redis_redis`); c != "node.labels.collabstack.app.redis == 1" {
		t.Errorf("constraint %q", c)
	}
	if out := redis("lab-2", "set keep kept"); out != "OK" {
		t.Fatalf("set: %s", out)
	}

	// 2. A third node with the same label joins.
	sess.Close()
	if err := os.WriteFile(sitePath, []byte(siteYAML(3)), 0o600); err != nil {
		t.Fatal(err)
	}
	sess, err = install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var changed []string
	sum, err := sess.Run(ctx, install.RunOptions{Command: "apply", Emit: func(e engine.Event) {
		if e.Kind == engine.StepDone && e.Changed {
			changed = append(changed, e.Step)
		}
	}})
	if err != nil {
		t.Fatalf("apply with lab-3: %+v %v", sum, err)
	}
	t.Logf("steps the third node changed: %v", changed)
	for _, id := range changed {
		if strings.HasPrefix(id, "apps/redis/") {
			t.Errorf("adding a node changed %s", id)
		}
	}
	if mgr, err = sess.Hosts.Get(ctx, "lab-1"); err != nil {
		t.Fatal(err)
	}
	if out := run(mgr, `docker node ls --format '{{.Hostname}} {{.Status}}'`); !strings.Contains(out, "lab-3 Ready") {
		t.Fatalf("lab-3 did not join: %s", out)
	}
	if l := run(mgr, `docker node inspect --format '{{index .Spec.Labels "role"}}' lab-3`); l != "common" {
		t.Fatalf("lab-3 is labelled %q", l)
	}

	// 3. Docker re-deploys the service (a new task, scheduled afresh),
	// twice: the task stays on lab-2, with its data.
	for i := 0; i < 2; i++ {
		run(mgr, "docker service update --force --detach=false --quiet redis_redis")
		if n := taskNode(); n != "lab-2" {
			t.Fatalf("after a forced update redis runs on %s", n)
		}
	}
	if out := redis("lab-2", "get keep"); out != "kept" {
		t.Errorf("the value is gone: %q", out)
	}
	if p := pinned(); p != "lab-2" {
		t.Errorf("the pin moved to %q", p)
	}
	lab3, err := sess.Hosts.Get(ctx, "lab-3")
	if err != nil {
		t.Fatal(err)
	}
	if v := run(lab3, "docker volume ls -q"); strings.Contains(v, "redis_") {
		t.Errorf("lab-3 got a Redis volume: %s", v)
	}

	// 4. Applying again leaves Redis alone.
	changed = nil
	if _, err := sess.Run(ctx, install.RunOptions{Command: "apply", Emit: func(e engine.Event) {
		if e.Kind == engine.StepDone && e.Changed {
			changed = append(changed, e.Step)
		}
	}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range changed {
		if strings.HasPrefix(id, "apps/redis/") {
			t.Errorf("the re-run changed %s", id)
		}
	}
	if n := taskNode(); n != "lab-2" {
		t.Errorf("after the re-run redis runs on %s", n)
	}
}
