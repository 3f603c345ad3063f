package apps

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/assets/standins"
	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/secrets"
)

// TestDatabaseStepOnARealPostgres runs the database steps of Etherpad and
// Synapse against a real PostgreSQL (the image the postgres app names, a
// stand-in in the lab) in a container labelled as the swarm would label
// the shared server's task: created once, found done the second time, and
// the user logs in with the password from the secrets file; after the
// password changes in the secrets file, the step runs again and the user
// logs in with the new one. The real image is not reachable here, the
// stand-in (Debian's PostgreSQL) asks for the password on 127.0.0.1.
func TestDatabaseStepOnARealPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL container")
	}
	c := loadCatalog(t)
	pg, _ := c.Get("postgres")
	image := pg.Images["postgres"]
	testtools.NeedDocker(t)
	if err := exec.Command("docker", "image", "inspect", "--format", "ok", image).Run(); err != nil {
		// Docker Hub is out of reach: build the stand-in under the
		// image's name (Debian's PostgreSQL on the lab base image).
		testtools.NeedCommand(t, "debootstrap", "apt-get install debootstrap")
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
		defer cancel()
		if _, err := standins.Build(ctx, standins.Options{Out: func(l string) { t.Log(l) }}, image); err != nil {
			t.Fatalf("no image %s here, and building its stand-in failed: %v", image, err)
		}
	}
	name := "collabstack-apps-test-" + time.Now().Format("150405.000000")
	name = strings.ReplaceAll(name, ".", "")
	run := exec.Command("docker", "run", "-d", "--rm", "--name", name,
		"--label", "com.docker.swarm.service.name="+ServiceName("postgres", "postgres"),
		"-e", "POSTGRES_PASSWORD=only-for-this-test", image)
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("docker run: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "rm", "-f", name).Run() })

	store, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	old := databaseMarkers
	databaseMarkers = t.TempDir()
	t.Cleanup(func() { databaseMarkers = old })
	local := host.NewLocal("manager")
	env := &engine.Env{Host: local, Secrets: store, Out: func(l string) { t.Log(l) }}
	// Room for the container to start on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, app := range []string{"etherpad", "synapse"} {
		a, _ := c.Get(app)
		step := c.databaseStep(a, "manager", false)
		done, err := step.Check(ctx, env)
		if err != nil || done {
			t.Fatalf("%s: check before: %v %v", app, done, err)
		}
		if err := step.Apply(ctx, env); err != nil {
			t.Fatalf("%s: apply: %v", app, err)
		}
		if err := step.Apply(ctx, env); err != nil {
			t.Fatalf("%s: apply again: %v", app, err)
		}
		done, err = step.Check(ctx, env)
		if err != nil || !done {
			t.Fatalf("%s: check after: %v %v", app, done, err)
		}
		pw, _ := store.Get(SecretName(app, "db-password"))
		login := exec.Command("docker", "exec", "-e", "PGPASSWORD", name, "psql", "-h", "127.0.0.1", "-U", a.Database.User, "-d", a.Database.Name, "-tAc", "SELECT datcollate FROM pg_database WHERE datname = current_database()")
		login.Env = append(os.Environ(), "PGPASSWORD="+pw)
		out, err := login.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: log in with the generated password: %v\n%s", app, err, out)
		}
		if collate := strings.TrimSpace(string(out)); a.Database.CollateC && collate != "C" {
			t.Errorf("%s: collation %q", app, collate)
		}
	}

	// One user per app, and CONNECT revoked from PUBLIC: etherpad's user
	// cannot open synapse's database.
	{
		ep, _ := c.Get("etherpad")
		sy, _ := c.Get("synapse")
		pw, _ := store.Get(SecretName("etherpad", "db-password"))
		cross := exec.Command("docker", "exec", "-e", "PGPASSWORD", name, "psql", "-h", "127.0.0.1", "-U", ep.Database.User, "-d", sy.Database.Name, "-tAc", "SELECT 1")
		cross.Env = append(os.Environ(), "PGPASSWORD="+pw)
		out, err := cross.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "permission denied") {
			t.Errorf("etherpad's user opened synapse's database (%v): %s", err, out)
		}
	}

	// A password changed in the secrets file: the step is not done, and
	// its apply sets the new one in the database.
	a, _ := c.Get("etherpad")
	step := c.databaseStep(a, "manager", false)
	if err := store.Set(SecretName("etherpad", "db-password"), "a-new-password-for-etherpad"); err != nil {
		t.Fatal(err)
	}
	if done, err := step.Check(ctx, env); done || err != nil {
		t.Fatalf("check after the password changed: %v %v", done, err)
	}
	if err := step.Apply(ctx, env); err != nil {
		t.Fatal(err)
	}
	if done, err := step.Check(ctx, env); !done || err != nil {
		t.Fatalf("check after the new password was set: %v %v", done, err)
	}
	login := exec.Command("docker", "exec", "-e", "PGPASSWORD", name, "psql", "-h", "127.0.0.1", "-U", a.Database.User, "-d", a.Database.Name, "-tAc", "SELECT 1")
	login.Env = append(os.Environ(), "PGPASSWORD=a-new-password-for-etherpad")
	if out, err := login.CombinedOutput(); err != nil {
		t.Fatalf("log in with the changed password: %v\n%s", err, out)
	}
}
