package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/ssh"
	"github.com/collabstack/collabstack/steps/swarm"
)

// TestBrokenAppFailsTheApplyAndAFixConverges: on a 2-node lab, Etherpad
// with a plugin option its image cannot honour exits at every start; the
// apply fails on its deploy naming the service, docker's task error and
// its log lines, and status is not healthy. With the option removed from
// the site file the next apply converges and every probe passes through
// the edge. Then Adminer is broken inside its running container to
// answer 500: status names the failing probe, and the next apply restarts
// it from its image and converges again. What it cannot show: the real
// upstream images (stand-ins from Debian packages run here).
func TestBrokenAppFailsTheApplyAndAFixConverges(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.yaml")
	siteYAML := func(plugins string) string {
		return fmt.Sprintf(`version: 1
topology: lab
domain: broken.test
admin_email: admin@broken.test
lab: {nodes: 2, network: cs-broken-%d, image: docker}
prepare: {node: distro}
components:
  postgres: {}
  adminer: {}
  etherpad: {options: {plugins: [%s]}}
`, os.Getpid()%100000, plugins)
	}
	sess := openLabSite(t, sitePath, siteYAML("ep_collabstack_no_such_plugin"))

	// 1. The broken app fails the apply, named, with its logs.
	var failed []engine.Event
	var log strings.Builder
	_, err := sess.Run(ctx, install.RunOptions{Command: "apply", Emit: func(e engine.Event) {
		switch e.Kind {
		case engine.StepFailed:
			failed = append(failed, e)
			fmt.Fprintf(&log, "FAILED %s: %v\n", e.Title, e.Err)
		case engine.StepOutput:
			fmt.Fprintf(&log, "  | %s\n", e.Line)
		}
	}})
	var re *engine.RunError
	if !errors.As(err, &re) {
		t.Fatalf("apply with a broken Etherpad: want a failed run, got %v\n%s", err, log.String())
	}
	var pad *engine.Event
	for i, e := range failed {
		if e.Step == "apps/etherpad/deploy" {
			pad = &failed[i]
		} else {
			t.Errorf("another step failed: %s: %v", e.Title, e.Err)
		}
	}
	if pad == nil {
		t.Fatalf("Etherpad's deploy did not fail:\n%s", log.String())
	}
	msg := pad.Err.Error()
	for _, want := range []string{"etherpad_etherpad is not running", "task: non-zero exit", "docker service ps --no-trunc etherpad_etherpad", "last log lines of etherpad_etherpad", "ep_collabstack_no_such_plugin"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the failure does not say %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(pad.Hint, "collabstack logs etherpad") {
		t.Errorf("hint %q", pad.Hint)
	}
	t.Logf("the failure as a user reads it:\n%s\nhint: %s", msg, pad.Hint)
	if !strings.Contains(log.String(), "waiting for etherpad_etherpad") {
		t.Errorf("the wait was silent:\n%s", log.String())
	}

	st, err := sess.Status(ctx, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if st.Healthy() {
		t.Errorf("status is healthy with a crash-looping Etherpad: %+v", st.Components)
	}
	comp := component(t, st, "etherpad")
	if comp.Healthy || !strings.Contains(comp.Problem, "etherpad_etherpad") {
		t.Errorf("status of etherpad: %+v", comp)
	}
	if c := component(t, st, "adminer"); !c.Healthy {
		t.Errorf("adminer should be healthy: %+v", c)
	}

	// 2. Fixing the site file and applying again converges.
	sess.Close()
	if err := os.WriteFile(sitePath, []byte(siteYAML("")), 0o600); err != nil {
		t.Fatal(err)
	}
	sess, err = install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	freshApply(t, ctx, sess)
	st = healthyStatus(t, ctx, sess)
	for _, c := range st.Components {
		if c.Name == "etherpad" && (len(c.Probes) != 1 || !strings.Contains(c.Probes[0].Detail, "HTTP 200")) {
			t.Errorf("etherpad's probe: %+v", c.Probes)
		}
	}

	// 3. An app that answers 500: status says so, apply restarts it.
	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	node, err := mgr.Run(ctx, "docker service ps --filter desired-state=running --format '{{.Node}}' adminer_adminer", host.RunOpts{Sudo: true})
	if err != nil {
		t.Fatal(err)
	}
	nh, err := sess.Hosts.Get(ctx, strings.TrimSpace(node))
	if err != nil {
		t.Fatal(err)
	}
	php := `<?php http_response_code(500); echo "broken on purpose by the test";`
	if out, err := nh.Run(ctx, "docker exec -u 0 $(docker ps -q --filter label=com.docker.swarm.service.name=adminer_adminer | head -n1) sh -c "+host.Quote("printf '%s' "+host.Quote(php)+" > /var/www/html/index.php"), host.RunOpts{Sudo: true}); err != nil {
		t.Fatalf("break adminer: %v %s", err, out)
	}
	st, err = sess.Status(ctx, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if c := component(t, st, "adminer"); c.Healthy || !strings.Contains(c.Problem, "HTTP 500") {
		t.Errorf("status of an adminer answering 500: %+v", c)
	}
	if st.Healthy() {
		t.Error("status is healthy with adminer answering 500")
	}
	sum, err := sess.Run(ctx, install.RunOptions{Command: "apply"})
	if err != nil || sum.Changed == 0 {
		t.Fatalf("apply after adminer broke: %+v %v", sum, err)
	}
	healthyStatus(t, ctx, sess)
	noopApply(t, ctx, sess, "second apply")
}

// TestSecretRotationOnALab: on a 1-node lab with the shared PostgreSQL,
// its admin password is changed in the secrets file; the next apply
// creates the secret's new version, redeploys PostgreSQL on it (the file
// in the container keeps its name), its hook sets the password in the
// database, the old version goes, and a re-run changes nothing
// (rotateSecret). What it cannot show: the real postgres image (the
// stand-in from Debian's PostgreSQL runs here; it asks for the password
// on 127.0.0.1 too, where the real image trusts local connections).
func TestSecretRotationOnALab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	sitePath := filepath.Join(t.TempDir(), "site.yaml")
	sess := openLabSite(t, sitePath, fmt.Sprintf(`version: 1
topology: lab
domain: rotate.test
admin_email: admin@rotate.test
lab: {nodes: 1, network: cs-rotate-%d, image: docker}
prepare: {node: distro}
components:
  postgres: {}
`, os.Getpid()%100000))
	start := time.Now()
	freshApply(t, ctx, sess)
	t.Logf("fresh apply in %s", time.Since(start).Round(time.Second))
	rotateSecret(t, ctx, sitePath, &sess, "postgres-admin-password", "postgres_admin_password", "postgres_postgres")
}

// rotateSecret writes a new value of a secret into the site's secrets
// file, applies, and checks on the lab that the service's container has
// the new value under the same file name, that PostgreSQL accepts it
// over TCP (scram-sha-256: the password inside the database changed,
// not only the file), that the swarm keeps only the new version, and
// that a further apply changes nothing.
func rotateSecret(t *testing.T, ctx context.Context, sitePath string, sess **install.Session, entry, file, service string) {
	t.Helper()
	path := (*sess).Secrets.Path()
	(*sess).Close()
	store, err := secrets.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	value := "rotated-by-the-test-" + fmt.Sprint(time.Now().UnixNano())
	if err := store.Set(entry, value); err != nil {
		t.Fatal(err)
	}
	s, err := install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	*sess = s
	t.Cleanup(func() { s.Close() })
	start := time.Now()
	sum := freshApply(t, ctx, s)
	t.Logf("rotation of %s: %+v in %s", entry, sum, time.Since(start).Round(time.Second))
	// The lab's hosts are known to a session once its run has registered them.
	mgr, err := s.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	versions := func() []string {
		out, err := mgr.Run(ctx, "docker secret ls --format '{{.Name}}'", host.RunOpts{Sudo: true})
		if err != nil {
			t.Fatal(err)
		}
		var vs []string
		for _, n := range strings.Fields(out) {
			if n == file || swarm.BaseOf(n) == file {
				vs = append(vs, n)
			}
		}
		return vs
	}
	after := versions()
	key, _ := s.Secrets.Get(swarm.VersionKeySecret)
	want := swarm.VersionedName(key, file, []byte(value))
	if len(after) != 1 || after[0] != want {
		t.Errorf("versions of %s after the rotation: %v, want only %s", file, after, want)
	}
	node, err := mgr.Run(ctx, "docker service ps --filter desired-state=running --format '{{.Node}}' "+service, host.RunOpts{Sudo: true})
	if err != nil {
		t.Fatal(err)
	}
	nh, err := s.Hosts.Get(ctx, strings.TrimSpace(node))
	if err != nil {
		t.Fatal(err)
	}
	in := "docker exec $(docker ps -q --filter label=com.docker.swarm.service.name=" + service + " | head -n1) sh -c "
	// A hash, not the value: collabstack's transport redacts the value.
	out, err := nh.Run(ctx, in+host.Quote("sha256sum < /run/secrets/"+file), host.RunOpts{Sudo: true})
	sum256 := sha256.Sum256([]byte(value))
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), hex.EncodeToString(sum256[:])) {
		t.Errorf("/run/secrets/%s in %s does not hold the new value: %q %v", file, service, out, err)
	}
	out, err = nh.Run(ctx, in+host.Quote(`PGPASSWORD="$(cat /run/secrets/`+file+`)" psql -h 127.0.0.1 -U postgres -d postgres -tAc 'SELECT 42'`), host.RunOpts{Sudo: true})
	if err != nil || strings.TrimSpace(out) != "42" {
		t.Errorf("PostgreSQL refuses the new password over TCP: %q %v", out, err)
	}
	healthyStatus(t, ctx, s)
	noopApply(t, ctx, s, "apply after the rotation")
}

func component(t *testing.T, st install.Status, name string) install.ComponentHealth {
	t.Helper()
	for _, c := range st.Components {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("status has no component %s (error %v): %+v", name, st.HealthErr, st.Components)
	return install.ComponentHealth{}
}

func healthyStatus(t *testing.T, ctx context.Context, sess *install.Session) install.Status {
	t.Helper()
	st, err := sess.Status(ctx, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Healthy() {
		t.Errorf("status not healthy: hosts %+v, error %v", st.Hosts, st.HealthErr)
		for _, c := range st.Components {
			t.Errorf("  %s healthy=%v %s %+v", c.Name, c.Healthy, c.Problem, c.Probes)
		}
	}
	return st
}
