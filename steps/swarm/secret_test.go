package swarm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/secrets"
)

// A version follows the value, the base and the site's key, and is not a
// plain hash of the value: nobody with docker access can test password
// guesses against a secret's name.
func TestVersionedName(t *testing.T) {
	name := VersionedName("site-key", "forgejo_db_password", []byte("hunter2"))
	if !regexp.MustCompile(`^forgejo_db_password_[0-9a-f]{12}$`).MatchString(name) {
		t.Fatalf("name %q", name)
	}
	if again := VersionedName("site-key", "forgejo_db_password", []byte("hunter2")); again != name {
		t.Errorf("not stable: %s, %s", name, again)
	}
	for what, other := range map[string]string{
		"another value": VersionedName("site-key", "forgejo_db_password", []byte("hunter3")),
		"another key":   VersionedName("other-key", "forgejo_db_password", []byte("hunter2")),
		"another base":  VersionedName("site-key", "moodle_db_password", []byte("hunter2")),
	} {
		if BaseOf(other) != "" && strings.HasSuffix(other, name[len(name)-12:]) {
			t.Errorf("%s gives the same version: %s", what, other)
		}
	}
	for _, plain := range []string{"hunter2", "forgejo_db_password\x00hunter2"} {
		sum := sha256.Sum256([]byte(plain))
		if strings.Contains(name, hex.EncodeToString(sum[:])[:12]) {
			t.Errorf("the version is a plain hash of %q", plain)
		}
	}
	if b := BaseOf(name); b != "forgejo_db_password" {
		t.Errorf("BaseOf(%s) = %q", name, b)
	}
	for _, n := range []string{"forgejo_db_password", "kopnik_kopnik", "x_0123456789AB", "x_0123456789a"} {
		if b := BaseOf(n); b != "" {
			t.Errorf("BaseOf(%s) = %q, want none", n, b)
		}
	}
}

// After a deploy, the versions of the stack's secrets and configs that no
// service uses go, and with them a secret from before versions (the bare
// base); the current ones, the ones a service still uses, and other
// stacks' secrets stay.
func TestStaleVersions(t *testing.T) {
	compose := []byte(`services:
  pg: {image: postgres, secrets: [postgres_admin_password]}
secrets:
  postgres_admin_password:
    external: true
    name: postgres_admin_password_bbbbbbbbbbbb
  conf:
    file: ./pg.conf
    name: postgres_pg_conf_222222222222
configs:
  init:
    file: ./init.sql
    name: postgres_init_sql_999999999999
`)
	ws, wc := StackVersions(compose)
	if !reflect.DeepEqual(ws, map[string]string{"postgres_admin_password": "postgres_admin_password_bbbbbbbbbbbb", "postgres_pg_conf": "postgres_pg_conf_222222222222"}) {
		t.Errorf("secrets %v", ws)
	}
	if !reflect.DeepEqual(wc, map[string]string{"postgres_init_sql": "postgres_init_sql_999999999999"}) {
		t.Errorf("configs %v", wc)
	}
	have := []string{
		"postgres_admin_password",              // from before versions
		"postgres_admin_password_aaaaaaaaaaaa", // the old version
		"postgres_admin_password_bbbbbbbbbbbb", // the current one
		"postgres_admin_password_cccccccccccc", // old, but a service still uses it
		"postgres_pg_conf_111111111111",        // a rendered file's old content
		"postgres_pg_conf_222222222222",
		"moodle_db_password_aaaaaaaaaaaa", // another stack's
		"portainer_admin_password",        // another stack's, from before versions
	}
	used := map[string]bool{"postgres_admin_password_cccccccccccc": true, "postgres_admin_password_bbbbbbbbbbbb": true}
	got := Stale(have, used, ws)
	want := []string{"postgres_admin_password", "postgres_admin_password_aaaaaaaaaaaa", "postgres_pg_conf_111111111111"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stale %v, want %v", got, want)
	}
	if s := Stale(have, nil, map[string]string{}); len(s) != 0 {
		t.Errorf("a stack without versions removes %v", s)
	}

	s, c, u := parsePrune("# secrets\na\nb_111111111111\n# configs\nc\n# used\n\nb_111111111111\nc\n")
	if !reflect.DeepEqual(s, []string{"a", "b_111111111111"}) || !reflect.DeepEqual(c, []string{"c"}) || !u["b_111111111111"] || !u["c"] || len(u) != 2 {
		t.Errorf("parsePrune: %v %v %v", s, c, u)
	}
}

// fakeSwarm answers the docker commands of SecretsStep and pruneVersions
// from a map. What it cannot show: that dockerd accepts them (the lab
// test TestBrokenAppFailsTheApplyAndAFixConverges rotates a secret on a
// real swarm).
type fakeSwarm struct {
	secrets  map[string]string // name → content
	labels   map[string]string
	used     map[string]bool
	commands []string
}

func (f *fakeSwarm) Name() string { return "mgr" }
func (f *fakeSwarm) Close() error { return nil }
func (f *fakeSwarm) Upload(context.Context, string, []byte, fs.FileMode, string) error {
	return nil
}
func (f *fakeSwarm) ReadFile(context.Context, string) ([]byte, error) { return nil, fs.ErrNotExist }

func (f *fakeSwarm) Run(_ context.Context, cmd string, o host.RunOpts) (string, error) {
	f.commands = append(f.commands, cmd)
	names := func() []string {
		var out []string
		for n := range f.secrets {
			out = append(out, n)
		}
		sort.Strings(out)
		return out
	}
	switch {
	case cmd == "docker secret ls --format '{{.Name}}'":
		return strings.Join(names(), "\n") + "\n", nil
	case strings.HasPrefix(cmd, "docker secret create --label "):
		w := strings.Fields(cmd)
		label, name := strings.Trim(w[4], "'"), strings.Trim(w[5], "'")
		f.secrets[name] = string(o.Stdin)
		f.labels[name] = label
		return "", nil
	case strings.HasPrefix(cmd, "sh -c "):
		var used []string
		for n := range f.used {
			used = append(used, n)
		}
		return "# secrets\n" + strings.Join(names(), "\n") + "\n# configs\n# used\n" + strings.Join(used, "\n") + "\n", nil
	case strings.HasPrefix(cmd, "docker secret rm "):
		delete(f.secrets, strings.Trim(strings.Fields(cmd)[3], "'"))
		return "", nil
	}
	return "", &unknownCommand{cmd}
}

type unknownCommand struct{ cmd string }

func (u *unknownCommand) Error() string { return "fake swarm: unknown command " + u.cmd }

// SecretsStep: a new value is a new version (Check says not done, Apply
// creates it with its value on stdin and the base as label), an
// unchanged one is done in one round trip; a fixed secret whose value
// changed stops the step, naming the entry, instead of rotating; the
// deploy's prune then removes the version no service uses.
func TestSecretsStepRotatesAndRefusesFixed(t *testing.T) {
	ctx := context.Background()
	st, err := secrets.Open(filepath.Join(t.TempDir(), "secrets.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sw := &fakeSwarm{secrets: map[string]string{}, labels: map[string]string{}, used: map[string]bool{}}
	var out []string
	env := &engine.Env{Host: sw, Secrets: st, Out: func(l string) { out = append(out, l) }}
	fixed := false
	step := SecretsStep("s", "secrets", "mgr", "c", nil, func(context.Context, *engine.Env) ([]Secret, error) {
		v, _ := st.Get("app-password")
		return []Secret{{Base: "app_password", Value: []byte(v), Source: "app-password", Fixed: fixed, Why: "the app keeps it"}}, nil
	})
	st.Set("app-password", "first")
	if done, err := step.Check(ctx, env); done || err != nil {
		t.Fatalf("check before any secret: %v %v", done, err)
	}
	if err := step.Apply(ctx, env); err != nil {
		t.Fatal(err)
	}
	key, _ := st.Get(VersionKeySecret)
	first := VersionedName(key, "app_password", []byte("first"))
	if sw.secrets[first] != "first" || sw.labels[first] != SecretLabel+"=app_password" {
		t.Fatalf("swarm %v labels %v", sw.secrets, sw.labels)
	}
	sw.commands = nil
	if done, err := step.Check(ctx, env); !done || err != nil || len(sw.commands) != 1 {
		t.Fatalf("check after apply: %v %v, %d round trips", done, err, len(sw.commands))
	}

	// The user edits the value: a new version; the old one stays until
	// the stack's deploy has moved off it.
	st.Set("app-password", "second")
	if done, _ := step.Check(ctx, env); done {
		t.Fatal("a changed value checks as done")
	}
	if err := step.Apply(ctx, env); err != nil {
		t.Fatal(err)
	}
	second := VersionedName(key, "app_password", []byte("second"))
	if sw.secrets[second] != "second" || sw.secrets[first] != "first" {
		t.Fatalf("swarm %v", sw.secrets)
	}
	for _, l := range out {
		if strings.Contains(l, "second") && !strings.Contains(l, second) {
			t.Errorf("the value is in the output: %q", l)
		}
	}
	sw.used = map[string]bool{second: true}
	pruneVersions(ctx, env, []byte("secrets:\n  app_password: {external: true, name: "+second+"}\n"))
	if _, ok := sw.secrets[first]; ok {
		t.Errorf("the old version stays: %v", sw.secrets)
	}
	if _, ok := sw.secrets[second]; !ok {
		t.Errorf("the current version went: %v", sw.secrets)
	}

	// A fixed secret: a changed value is refused with the reason.
	fixed = true
	st.Set("app-password", "third")
	err = step.Apply(ctx, env)
	if err == nil || !strings.Contains(err.Error(), "app-password changed in the secrets file") || !strings.Contains(err.Error(), "the app keeps it") {
		t.Fatalf("fixed secret changed: %v", err)
	}
	if strings.Contains(err.Error(), "third") {
		t.Errorf("the error shows the value: %v", err)
	}
	if len(sw.secrets) != 1 {
		t.Errorf("a refused change created a secret: %v", sw.secrets)
	}
	// Unchanged, it is done; on a swarm without any version (a first
	// deploy, or one from before versions) it is created.
	st.Set("app-password", "second")
	if done, err := step.Check(ctx, env); !done || err != nil {
		t.Errorf("fixed, unchanged: %v %v", done, err)
	}
	sw.secrets = map[string]string{"app_password": "second"}
	if err := step.Apply(ctx, env); err != nil {
		t.Errorf("fixed, first version: %v", err)
	}
}
