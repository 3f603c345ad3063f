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
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
)

// hostile is a secret key with every character the shell treats
// specially: it must reach restic as it is and run nothing.
const hostile = `k'ey"$(touch /tmp/pwned-s3)` + "`id`;\\ $HOME"

func s3Site(t *testing.T) (*site.Site, []site.Host, *engine.Inventory) {
	t.Helper()
	s, err := site.Parse([]byte(`version: 1
topology: kopnik
domain: kopnik.example.org
admin_email: a@kopnik.example.org
hosts:
  - {name: main, address: 203.0.113.10, role: manager}
components:
  garage: {}
backup:
  repositories:
    - {kind: s3, endpoint: "https://s3.example.net:9000", bucket: kopnik-backup, path: /sites/kopnik/, region: eu-central-1, access_key_ref: s3-id, secret_key_ref: s3-secret}
    - {kind: garage}
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

// TestS3KeysAreInA0600FileNeverInAWord: restic reaches an S3 repository
// with the keys in an environment file the shell reads before it starts
// restic; no word of the command holds a key, the file's quoting keeps a
// hostile key as data, and the runner passes shellcheck.
func TestS3KeysAreInA0600FileNeverInAWord(t *testing.T) {
	s, hosts, inv := s3Site(t)
	repos, err := ReposFor(s, hosts, inv, "main")
	if err != nil {
		t.Fatal(err)
	}
	if repos[0].Repository != "s3:https://s3.example.net:9000/kopnik-backup/sites/kopnik" || repos[0].EnvFile != Conf+"/s3-s3.env" {
		t.Errorf("s3 repository: %+v", repos[0])
	}
	if repos[1].Repository != "s3:https://s3.kopnik.example.org/collabstack-backup" || strings.Join(repos[1].Options, " ") != "s3.bucket-lookup=path" {
		t.Errorf("garage repository: %+v", repos[1])
	}
	lookup := func(n string) (string, bool) {
		return map[string]string{"s3-id": "AKIA-ID", "s3-secret": hostile}[n], n == "s3-id" || n == "s3-secret"
	}
	envText, err := S3Env(s.Backup.Repositories[0], lookup)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range resticArgs(repos[0]) {
		if strings.Contains(w, "AKIA-ID") || strings.Contains(w, "pwned") {
			t.Errorf("a key is a word of the command: %q", w)
		}
	}
	if _, err := S3Env(s.Backup.Repositories[1], lookup); err == nil {
		t.Error("a garage repository without its key in the secrets file gave an environment file")
	}

	// The words as a host runs them, with restic replaced by a printer
	// of what it gets: the keys arrive from the file, exactly.
	dir := t.TempDir()
	envFile := filepath.Join(dir, "s3.env")
	os.WriteFile(envFile, envText, 0o600)
	os.WriteFile(filepath.Join(dir, "restic"), []byte("#!/bin/sh\nprintf '%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_DEFAULT_REGION\" \"$RESTIC_PASSWORD_FILE\" \"$@\"\n"), 0o755)
	r := repos[0]
	r.EnvFile = envFile
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	out, err := host.NewLocal("here").Run(context.Background(), resticCommand(r)+" snapshots", host.RunOpts{})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{"AKIA-ID", hostile, "eu-central-1", Conf + "/key", "-r", r.Repository, "snapshots"}, "\n") + "\n"
	if out != want {
		t.Errorf("restic got\n%s\nwant\n%s", out, want)
	}
	if _, err := os.Stat("/tmp/pwned-s3"); err == nil {
		os.Remove("/tmp/pwned-s3")
		t.Error("the hostile key ran a command")
	}

	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is needed (Debian package shellcheck; scripts/test installs it)")
	}
	files, err := Files(s, hosts, inv, "main", true)
	if err != nil {
		t.Fatal(err)
	}
	garage, err := script.Render("backup/garage.sh", map[string]any{"Service": garageService, "Bucket": "collabstack-backup", "Key": GarageKeyName("garage")})
	if err != nil {
		t.Fatal(err)
	}
	testRestore, err := script.Render("backup/testrestore.sh", map[string]any{"Snapshot": "1a2b3c4d", "File": State + "/dumps/postgres_postgres/app.pgdump", "Service": "postgres_postgres", "DB": "app", "Restic": resticArgs(repos[0])})
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"run.sh": string(files[Script]), "garage.sh": garage, "testrestore.sh": testRestore} {
		cmd := exec.Command("shellcheck", "-s", "sh", "-S", "warning", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
	if !strings.Contains(string(files[Script]), `'set -a && . "$0" && set +a && exec "$@"' /etc/collabstack/backup/s3-s3.env`) {
		t.Errorf("the runner does not read the keys from the environment file:\n%s", files[Script])
	}

	steps, err := Steps(s, hosts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, st := range steps {
		ids = append(ids, st.ID())
	}
	if got := strings.Join(ids, " "); got != "backup/setup/main backup/garage/garage backup/init/s3 backup/init/garage backup/site-copy" {
		t.Errorf("steps: %s", got)
	}
}

// fakeDocker stands in for docker with a garage task: `docker exec`
// answers the garage CLI commands collabstack sends the way Garage
// v1.0.1's source prints them (src/garage/cli/util.rs print_key_info),
// and logs every command. It cannot show that a real Garage accepts
// them, that its layout is applied, or that its S3 API serves restic.
const fakeDocker = `#!/bin/sh
st=$GARAGE_STATE
echo "$*" >>"$st/log"
case $1 in
ps) echo c0ffee; exit 0 ;;
exec) shift 2 ;;
*) exit 2 ;;
esac
[ "$1" = /garage ] || exit 2
shift
case "$1 $2" in
"status "*) printf '==== HEALTHY NODES ====\nID\tHostname\tAddress\tTags\tZone\tCapacity\tDataAvail\n563e1ac825ee3323\tgarage1\t10.0.1.5:3901\t[]\tdc1\t200.0 GB\t190 GB\n' ;;
"bucket info") [ -e "$st/bucket-$3" ] || exit 1 ;;
"bucket create") touch "$st/bucket-$3"; echo "Bucket $3 was created." ;;
"bucket allow") touch "$st/allowed-$6-$7"; echo "New permissions for $6 on $7: read true, write true, owner false." ;;
"key create") touch "$st/key-$3"; set -- key info --show-secret "$3" ;;
esac
case "$1 $2" in
"key info")
	[ "$3" = --show-secret ] && { k=$4; s='gx8sJ+/s3cr3t$(id)'; } || { k=$3; s='(redacted)'; }
	[ -e "$st/key-$k" ] || { echo "Error: 0 matching keys" >&2; exit 1; }
	printf 'Key name: %s\nKey ID: GK31c2f218a2e44f485b94239e\nSecret key: %s\nCan create buckets: false\n\nKey-specific bucket aliases:\n\nAuthorized buckets:\n' "$k" "$s"
	for f in "$st"/allowed-"$k"-*; do [ -e "$f" ] && printf '  RW   %s  \t  \t 0ce8e6b5\n' "${f##*/allowed-$k-}"; done
	;;
esac
exit 0
`

// TestGarageBucketAndKeyThroughItsCLI runs the Garage step against the
// stand-in above: the commands collabstack sends inside the garage
// container, the key it reads into the secrets file (never into a log),
// and that a second run changes nothing.
func TestGarageBucketAndKeyThroughItsCLI(t *testing.T) {
	s, hosts, _ := s3Site(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "docker"), []byte(fakeDocker), 0o755)
	state := filepath.Join(dir, "state")
	os.Mkdir(state, 0o700)
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	t.Setenv("GARAGE_STATE", state)
	inv := engine.NewInventory(func(ctx context.Context, spec host.Spec, inv *engine.Inventory) (host.Host, error) {
		return host.NewLocal(spec.Name), nil
	}, host.Spec{Name: "main"})
	store, err := secrets.Open(filepath.Join(dir, "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var logged []string
	env := &engine.Env{Hosts: inv, Secrets: store, Out: func(l string) { logged = append(logged, l) }}
	st := garageStep(s.Backup.Repositories[1], hosts)
	ctx := context.Background()
	if done, err := st.Check(ctx, env); err != nil || done {
		t.Fatalf("check before: %v %v", done, err)
	}
	if err := st.Apply(ctx, env); err != nil {
		t.Fatal(err)
	}
	if done, err := st.Check(ctx, env); err != nil || !done {
		t.Fatalf("check after apply: %v %v", done, err)
	}
	id, sec := site.GarageKeySecrets("garage")
	if v, _ := store.Get(id); v != "GK31c2f218a2e44f485b94239e" {
		t.Errorf("key ID in the secrets file: %q", v)
	}
	if v, _ := store.Get(sec); v != "gx8sJ+/s3cr3t$(id)" {
		t.Errorf("secret key in the secrets file: %q", v)
	}
	log, _ := os.ReadFile(filepath.Join(state, "log"))
	for _, want := range []string{
		"exec c0ffee /garage bucket create collabstack-backup",
		"exec c0ffee /garage key create collabstack-backup-garage",
		"exec c0ffee /garage bucket allow --read --write --key collabstack-backup-garage collabstack-backup",
	} {
		if !strings.Contains(string(log), want+"\n") {
			t.Errorf("collabstack did not send %q; it sent:\n%s", want, log)
		}
	}
	if strings.Contains(strings.Join(logged, "\n"), "s3cr3t") {
		t.Errorf("the secret key reached the step's log: %q", logged)
	}
	text, err := S3Env(s.Backup.Repositories[1], store.Get)
	if err != nil || !strings.Contains(string(text), "AWS_ACCESS_KEY_ID=GK31c2f218a2e44f485b94239e\n") || !strings.Contains(string(text), "AWS_DEFAULT_REGION=garage\n") {
		t.Errorf("garage environment file: %s %v", text, err)
	}
}

// TestAFailedBackupIsMailedThroughTheRelay runs the runner script with
// restic failing, against a stand-in docker whose relay task takes the
// mail on the relay's sendmail: the admin gets a mail naming the host and
// restic's reason, and last.json says FAILED. The stand-in cannot show
// that Postfix delivers it.
func TestAFailedBackupIsMailedThroughTheRelay(t *testing.T) {
	s, hosts, inv := s3Site(t)
	dir := t.TempDir()
	mailbox := filepath.Join(dir, "mail")
	os.WriteFile(filepath.Join(dir, "docker"), []byte(`#!/bin/sh
case "$*" in
"ps -q -f label=com.docker.swarm.service.name=`+RelayService+`") echo relay1 ;;
"exec -i relay1 sendmail -t -f noreply@kopnik.example.org") cat >`+mailbox+` ;;
esac
exit 0
`), 0o755)
	os.WriteFile(filepath.Join(dir, "restic"), []byte("#!/bin/sh\necho 'Fatal: unable to open repository: connection refused' >&2\nexit 1\n"), 0o755)
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	repos, _ := ReposFor(s, hosts, inv, "main")
	state := filepath.Join(dir, "state")
	text, err := script.RenderFile("backup/run.sh", map[string]any{
		"Node": "main", "State": state, "Conf": dir, "Extra": []string{}, "Manager": true, "Keep": s.Backup.Keep, "Metrics": filepath.Join(dir, "metrics"),
		"Repos":  []map[string]any{{"Name": "s3", "Restic": resticArgs(repos[0])[4:]}},
		"MailTo": s.AdminEmail, "MailFrom": "noreply@" + s.Domain, "Relay": RelayService,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", text).CombinedOutput()
	if err == nil {
		t.Fatalf("the runner succeeded with restic failing:\n%s", out)
	}
	mail, _ := os.ReadFile(mailbox)
	for _, want := range []string{"To: a@kopnik.example.org\n", "Subject: collabstack backup of main FAILED\n", "connection refused"} {
		if !strings.Contains(string(mail), want) {
			t.Errorf("the mail lacks %q:\n%s\n(runner said:\n%s)", want, mail, out)
		}
	}
	last, _ := os.ReadFile(filepath.Join(state, "last.json"))
	if !strings.Contains(string(last), `"ok":false`) {
		t.Errorf("last.json: %s", last)
	}
}
