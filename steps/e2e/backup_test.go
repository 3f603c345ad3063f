package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/internal/labtest"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/ssh"
)

// TestBackupRestoreOntoAFreshLab writes rows and files on a 2-node lab,
// backs it up with `collabstack backup --now` into an SFTP repository on
// a host outside the site, destroys the lab with its volumes and its
// secrets file, and restores onto a fresh lab with `collabstack restore`
// given only the backup key: the row count and the files' checksums are
// the same, and every service passes apply's checks. A second backup
// with nothing changed adds almost nothing (restic's figure printed).
//
// The repository host is a lab node of its own whose sshd takes any key
// for its backup user (AuthorizedKeysCommand): it stands in for the user
// authorizing the nodes' keys on their backup server, which this test
// cannot show.
func TestBackupRestoreOntoAFreshLab(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	bin := filepath.Join(dir, "collabstack")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/collabstack/collabstack").CombinedOutput(); err != nil {
		t.Fatalf("build collabstack: %v %s", err, out)
	}

	// The repository host, outside the site.
	bk := labtest.Start(t, 1, lab.ImageDocker)
	bh := bk.Dial(t, 0)
	if _, err := bh.Run(ctx, `set -e
useradd --system --create-home --shell /bin/sh offsite
mkdir -p /srv/backup && chown offsite: /srv/backup
printf '#!/bin/sh\necho "$1 $2"\n' > /usr/local/bin/anykey && chmod 755 /usr/local/bin/anykey
printf 'Match User offsite\n\tAuthorizedKeysCommand /usr/local/bin/anykey %%t %%k\n\tAuthorizedKeysCommandUser nobody\n' > /etc/ssh/sshd_config.d/backup.conf
sshd -t && systemctl reload ssh`, host.RunOpts{Sudo: true}); err != nil {
		t.Fatalf("set up the repository host: %v", err)
	}

	n := os.Getpid()%200 + 20
	network := fmt.Sprintf("cs-bk-%d", os.Getpid()%100000)
	subnet := fmt.Sprintf("10.213.%d.0/24", n)
	repoIP := fmt.Sprintf("10.213.%d.50", n)
	sitePath := filepath.Join(dir, "site.yaml")
	siteYAML := fmt.Sprintf(`version: 1
topology: lab
domain: bk.test
admin_email: admin@bk.test
lab: {nodes: 2, network: %s, subnet: %s, image: docker}
prepare: {node: distro}
components:
  postgres: {}
  redis: {}
backup:
  repositories:
    - {name: offsite, url: "sftp:offsite@%s:/srv/backup/bk"}
`, network, subnet, repoIP)
	sess := openLabSite(t, sitePath, siteYAML)
	// The lab's network first, so the repository host can join it.
	connect := func(s *install.Session) {
		t.Helper()
		if _, err := s.Run(ctx, install.RunOptions{Only: []string{lab.Component}, Command: "lab"}); err != nil {
			t.Fatalf("lab up: %v", err)
		}
		if out, err := exec.Command("docker", "network", "connect", "--ip", repoIP, network, bk.Nodes[0].Container).CombinedOutput(); err != nil {
			t.Fatalf("connect the repository host to the lab: %v %s", err, out)
		}
	}
	connect(sess)
	t.Cleanup(func() { exec.Command("docker", "network", "disconnect", "-f", network, bk.Nodes[0].Container).Run() })
	freshApply(t, ctx, sess)

	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--config", sitePath, "--plain")...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("collabstack %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// Rows and files: a table in PostgreSQL, a file in a named volume on
	// the manager and one in the SFTP root (where kopnik keeps uploads).
	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	run := func(h host.Host, cmd string) string {
		t.Helper()
		var out string
		var err error
		for i := 0; i < 60; i++ {
			if out, err = h.Run(ctx, cmd, host.RunOpts{}); err == nil {
				return strings.TrimSpace(out)
			}
			time.Sleep(2 * time.Second)
		}
		t.Fatalf("%s: %v", cmd, err)
		return ""
	}
	psql := "docker exec $(docker ps -q -f label=com.docker.swarm.service.name=postgres_postgres | head -n1) psql -U postgres -d postgres -tAc "
	run(mgr, psql+host.Quote("CREATE TABLE kept (id serial primary key, v text); INSERT INTO kept (v) SELECT md5(i::text) FROM generate_series(1, 5000) i"))
	files := "/var/lib/docker/volumes/shared_registry-data/_data/e2e.bin /home/ubuntu/sftp/e2e/upload.bin"
	run(mgr, "mkdir -p /home/ubuntu/sftp/e2e && for f in "+files+"; do head -c 3000000 /dev/urandom > $f; done")
	sums := func(h host.Host) string { return run(h, "sha256sum "+files) }
	rows := func(h host.Host) string {
		return run(h, psql+host.Quote("SELECT count(*), md5(string_agg(v, ',' ORDER BY id)) FROM kept"))
	}
	wantSums, wantRows := sums(mgr), rows(mgr)

	out := cli("backup", "--now")
	t.Logf("first backup:\n%s", out)
	if !strings.Contains(out, "The backup key") {
		t.Errorf("the first backup did not show the key once")
	}
	start := time.Now()
	out2 := cli("backup", "--now")
	t.Logf("second backup, nothing changed, in %s:\n%s", time.Since(start).Round(time.Second), out2)
	added := regexp.MustCompile(`done: (.*) added`).FindStringSubmatch(out2)
	if added == nil {
		t.Fatalf("no figure in the second backup's output")
	}
	fmt.Printf("BENCHMARK backup: second run with no changes added %s (first: %s)\n", added[1], regexp.MustCompile(`done: (.*) added`).FindStringSubmatch(out)[1])
	if strings.Contains(out2, "The backup key") {
		t.Errorf("the key was shown twice")
	}
	list := cli("backup", "list")
	if strings.Count(list, "  run ") != 2 {
		t.Errorf("backup list shows %d runs, want 2:\n%s", strings.Count(list, "  run "), list)
	}
	t.Logf("backup check:\n%s", cli("backup", "check"))
	key := strings.TrimSpace(cli("backup", "key"))
	keyFile := filepath.Join(dir, "backup-key.txt")
	os.WriteFile(keyFile, []byte(key+"\n"), 0o600)

	// Lose everything: the lab with its volumes, and the secrets file.
	exec.Command("docker", "network", "disconnect", "-f", network, bk.Nodes[0].Container).Run()
	if err := lab.Down(ctx, lab.OptionsFor(sess.Site, sess.StateDir()), true); err != nil {
		t.Fatalf("lab down: %v", err)
	}
	sess.Close()
	os.Remove(filepath.Join(sess.StateDir(), install.SecretsFile))
	os.Remove(filepath.Join(sess.StateDir(), "backup-key-shown"))

	fresh, err := install.Open(sitePath, install.Options{Dialer: ssh.DialerFor})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	connect(fresh)
	start = time.Now()
	restored := cli("restore", "--key-file", keyFile, "--yes")
	t.Logf("restore in %s:\n%s", time.Since(start).Round(time.Second), restored)
	fmt.Printf("BENCHMARK restore onto a fresh lab: %s\n", time.Since(start).Round(time.Second))

	mgr2, err := fresh.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(mgr2); got != wantRows {
		t.Errorf("rows after restore: %q, want %q", got, wantRows)
	}
	if got := sums(mgr2); got != wantSums {
		t.Errorf("files after restore:\n%s\nwant\n%s", got, wantSums)
	}
}
