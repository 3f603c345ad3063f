package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/cli"
	"github.com/collabstack/collabstack/steps/host"
)

// TestRemoveReaddPurge: on a one-node lab with Redis and Adminer, `remove
// redis` takes its stack down and keeps its volume; adding it back and
// applying brings the key written before; `remove --purge` with the wrong
// name typed changes nothing, with the name typed removes the volume.
// Adminer keeps answering through the edge after each remove.
func TestRemoveReaddPurge(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.yaml")
	siteYAML := fmt.Sprintf(`version: 1
topology: lab
domain: remove.test
admin_email: admin@remove.test
lab: {nodes: 1, network: cs-remove-%d, image: docker}
prepare: {node: distro}
components:
  # the cache, removed and added back by the test
  redis: {}
  adminer: {}
`, os.Getpid()%100000)
	sess := openLabSite(t, sitePath, siteYAML)
	freshApply(t, ctx, sess)
	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := sess.Hosts.Spec("lab-1")
	sh := func(cmd string) string {
		out, _ := mgr.Run(ctx, cmd+" 2>&1 || true", host.RunOpts{})
		return out
	}
	eventually := func(what, cmd, want string) {
		t.Helper()
		var out string
		for i := 0; i < 90; i++ {
			if out = sh(cmd); strings.Contains(out, want) {
				return
			}
			time.Sleep(2 * time.Second)
		}
		t.Fatalf("%s: want %q, last answer:\n%s", what, want, out)
	}
	redis := func(args string) string {
		return "docker exec $(docker ps -q -f name=redis_redis. | head -n1) sh -c " +
			host.Quote("REDISCLI_AUTH=\"$(sed -n 's/^requirepass //p' /run/secrets/redis_conf)\" redis-cli "+args)
	}
	adminer := "curl -sk --max-time 5 --resolve adminer.remove.test:443:" + spec.Address + " https://adminer.remove.test/"
	collab := func(stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		code := cli.Main(append(args, "--config", sitePath), strings.NewReader(stdin), &out, &out)
		t.Logf("collabstack %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
		return code, out.String()
	}
	volumes := "docker volume ls -q --filter label=com.docker.stack.namespace=redis"

	eventually("redis write", redis("set keep kept"), "OK")

	// Remove: the stack goes, the volume stays, the site file forgets it.
	start := time.Now()
	if code, _ := collab("", "remove", "redis", "--yes"); code != 0 {
		t.Fatalf("remove redis: exit %d", code)
	}
	t.Logf("remove redis took %s", time.Since(start).Round(time.Second))
	if out := sh("docker stack ls --format '{{.Name}}'"); strings.Contains(out, "redis") {
		t.Errorf("the redis stack is still there: %s", out)
	}
	if out := sh(volumes); !strings.Contains(out, "redis_data") {
		t.Errorf("the volume redis_data is gone after a remove without --purge: %q", out)
	}
	if b, _ := os.ReadFile(sitePath); strings.Contains(string(b), "redis: {}") || !strings.Contains(string(b), "adminer") {
		t.Errorf("site file after remove:\n%s", b)
	}
	eventually("adminer after the remove", adminer, "Adminer")

	// Added back: its data is there.
	if err := os.WriteFile(sitePath, []byte(siteYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := collab("", "apply", "--yes"); code != 0 {
		t.Fatalf("apply with redis again: exit %d", code)
	}
	eventually("redis key after re-adding", redis("get keep"), "kept")

	// --purge with the wrong name typed: nothing changes.
	if code, _ := collab("rediss\n", "remove", "redis", "--purge"); code != 2 {
		t.Errorf("remove --purge with the wrong name: exit %d, want 2", code)
	}
	if out := sh(volumes); !strings.Contains(out, "redis_data") {
		t.Errorf("the volume went without confirmation: %q", out)
	}
	eventually("redis still runs", redis("get keep"), "kept")

	// --purge confirmed: the volume is gone too.
	if code, out := collab("redis\n", "remove", "redis", "--purge"); code != 0 || !strings.Contains(out, "volume redis_data removed") {
		t.Fatalf("remove --purge: exit %d", code)
	}
	if out := sh(volumes); strings.TrimSpace(out) != "" {
		t.Errorf("volumes left after --purge: %q", out)
	}
	eventually("adminer after the purge", adminer, "Adminer")
}
