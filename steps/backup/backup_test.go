package backup

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

func testSite(t *testing.T) (*site.Site, []site.Host, *engine.Inventory) {
	t.Helper()
	s, err := site.Parse([]byte(`version: 1
topology: kopnik
domain: kopnik.example.org
admin_email: a@kopnik.example.org
hosts:
  - {name: main, address: 203.0.113.10, role: manager}
  - {name: standby, address: 203.0.113.11, port: 2222, role: standby}
backup:
  repositories:
    - {host: standby}
    - {url: "sftp:offsite@backup.example.net:/srv/kopnik"}
`))
	if err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults()
	if err := s.Validate(nil); err != nil {
		t.Fatal(err)
	}
	var specs []host.Spec
	for _, h := range s.Hosts {
		specs = append(specs, host.Spec{Name: h.Name, Address: h.Address, Port: h.Port})
	}
	return s, s.Hosts, engine.NewInventory(nil, specs...)
}

// TestScriptsPassShellcheck renders every backup script as a host gets it
// and runs shellcheck on it.
func TestScriptsPassShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is needed (Debian package shellcheck; scripts/test installs it)")
	}
	s, hosts, inv := testSite(t)
	files, err := Files(s, hosts, inv, "main", true)
	if err != nil {
		t.Fatal(err)
	}
	repos, _ := ReposFor(s, hosts, inv, "main")
	texts := map[string]string{"run.sh": string(files[Script])}
	for name, data := range map[string]map[string]any{
		"backup/setup.sh":     {"Conf": Conf, "State": State, "Schedule": s.Backup.Schedule},
		"backup/authorize.sh": {"User": RepoUser, "Path": "/srv/b", "Keys": "ssh-ed25519 AAAA a\nssh-ed25519 BBBB b"},
		"backup/pin.sh":       {"Line": "[10.0.0.2]:2222 ssh-ed25519 AAAA", "Conf": Conf, "Host": "standby"},
		"backup/scan.sh":      {"Host": "backup.example.net", "Port": 22, "Conf": Conf},
		"backup/init.sh":      {"Name": "standby", "Restic": resticArgs(repos[0])},
		"backup/restore.sh":   {"Node": "main", "Name": "standby", "State": State, "Run": "", "Restic": resticArgs(repos[1])},
	} {
		text, err := script.Render(name, data)
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = text
	}
	for name, text := range texts {
		cmd := exec.Command("shellcheck", "-s", "sh", "-S", "warning", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
	run := texts["run.sh"]
	for _, want := range []string{
		"-r sftp:collabstack-backup@203.0.113.11:/var/backups/collabstack",
		"-o ServerAliveInterval=30 -p 2222 collabstack-backup@203.0.113.11 -s sftp",
		"-r sftp:offsite@backup.example.net:/srv/kopnik",
		"--keep-daily 7 --keep-weekly 4 --keep-monthly 6",
		"/home/ubuntu/sftp",
	} {
		if !strings.Contains(run, want) {
			t.Errorf("the runner script lacks %q", want)
		}
	}
	if !strings.Contains(string(files["/etc/systemd/system/collabstack-backup.timer"]), "OnCalendar=*-*-* 03:15:00") {
		t.Errorf("timer: %s", files["/etc/systemd/system/collabstack-backup.timer"])
	}
}

// TestStepsOfAKopnikSite: the main server backs up, the standby holds a
// repository and trusts main's key; the outside repository's host key is
// trusted on first use; both repositories are initialised from main.
func TestStepsOfAKopnikSite(t *testing.T) {
	s, hosts, _ := testSite(t)
	steps, err := Steps(s, hosts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range steps {
		ids = append(ids, st.ID()+"@"+st.HostName())
	}
	want := "backup/setup/main@main backup/authorize/standby@standby backup/pin/standby/main@main backup/init/standby@main backup/pin/backup-example-net/main@main backup/init/backup-example-net@main backup/site-copy@main"
	if got := strings.Join(ids, " "); got != want {
		t.Errorf("steps:\n got %s\nwant %s", got, want)
	}
	s.Backup = nil
	if steps, _ := Steps(s, hosts); len(steps) != 0 {
		t.Errorf("a site without backup section has backup steps: %v", steps)
	}
}

func TestLastResultOfANodeThatNeverBackedUp(t *testing.T) {
	l, err := LastResult(context.Background(), host.NewLocal("here"))
	if err != nil || !l.Never || l.String() != "never backed up" {
		t.Errorf("%+v %v", l, err)
	}
}

func TestSiteFilesPreferTheFileBesideTheState(t *testing.T) {
	dir := t.TempDir()
	s := &site.Site{StateDir: filepath.Join(dir, "site.yaml.state")}
	if _, _, err := SiteFiles(s); err == nil {
		t.Error("no secrets file: want an error")
	}
}

// TestResultWritesTextfileMetrics runs the runner script's result function
// (as rendered) for a success and then a failure: last.json is written
// each time, the metrics node-exporter's textfile collector reads say the
// last run's outcome, and the last success's time survives the failure;
// promtool (Prometheus's own checker) accepts the files.
func TestResultWritesTextfileMetrics(t *testing.T) {
	s, hosts, inv := testSite(t)
	files, err := Files(s, hosts, inv, "main", true)
	if err != nil {
		t.Fatal(err)
	}
	run := string(files[Script])
	start := strings.Index(run, "\nresult() {")
	end := strings.Index(run[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("no result function in the runner script")
	}
	fn := run[start : start+end+3]
	dir := t.TempDir()
	state, metrics := filepath.Join(dir, "state"), filepath.Join(dir, "metrics")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	call := func(args string) {
		t.Helper()
		sh := "set -eu\nstate=" + state + "\nmetrics=" + metrics + "\nstarted=x\nrun_tag=t\n" + fn + "\nresult " + args + "\n"
		if out, err := exec.Command("sh", "-c", sh).CombinedOutput(); err != nil {
			t.Fatalf("result %s: %v\n%s", args, err, out)
		}
	}
	read := func(name string) string {
		data, _ := os.ReadFile(filepath.Join(metrics, name))
		return string(data)
	}
	call(`true "main:abc" 10 ""`)
	if !strings.Contains(read("backup_run.prom"), "collabstack_backup_last_run_ok 1") || !strings.Contains(read("backup_success.prom"), "collabstack_backup_last_success_timestamp_seconds ") {
		t.Fatalf("after a success:\n%s\n%s", read("backup_run.prom"), read("backup_success.prom"))
	}
	success := read("backup_success.prom")
	call(`false "" 0 "restic failed"`)
	if !strings.Contains(read("backup_run.prom"), "collabstack_backup_last_run_ok 0") || read("backup_success.prom") != success {
		t.Errorf("after a failure:\n%s\n%s", read("backup_run.prom"), read("backup_success.prom"))
	}
	if last, _ := os.ReadFile(filepath.Join(state, "last.json")); !strings.Contains(string(last), `"ok":false`) {
		t.Errorf("last.json: %s", last)
	}
	if promtool, err := exec.LookPath("promtool"); err == nil {
		for _, f := range []string{"backup_run.prom", "backup_success.prom"} {
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = strings.NewReader(read(f))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool check metrics %s: %v\n%s", f, err, out)
			}
		}
	} else {
		t.Error("promtool is needed (Debian package prometheus; scripts/test installs it)")
	}
}
