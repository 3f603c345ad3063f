package cli

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/examples"
)

func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// withKey gives the test a HOME whose ~/.ssh/id_ed25519 is a fresh key,
// as the examples name.
func withKey(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(home, ".ssh"), 0o700)
	if err := os.WriteFile(filepath.Join(home, ".ssh", "id_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestInitPrintsExamplesThatValidate(t *testing.T) {
	dir := t.TempDir()
	withKey(t)
	for _, topo := range []string{"lab", "kopnik", "single", "full"} {
		code, out, _ := run(t, "", "init", "--topology", topo)
		want, _ := examples.Site(topo)
		if code != ExitOK || out != string(want) {
			t.Fatalf("init %s: code %d", topo, code)
		}
		p := filepath.Join(dir, topo+".yaml")
		os.WriteFile(p, []byte(out), 0o600)
		if topo == "kopnik" {
			// validate checks the secrets the site names, as apply does.
			if code, _, errs := run(t, "", "validate", "--config", p); code != ExitUsage || !strings.Contains(errs, "hosts[1].auth.password_ref") {
				t.Errorf("validate without the standby's password: %d %s", code, errs)
			}
			if code, _, errs := run(t, "pw\n", "secret", "set", "standby-password", "--config", p); code != ExitOK {
				t.Fatalf("secret set: %d %s", code, errs)
			}
		}
		if code, _, errs := run(t, "", "validate", "--config", p); code != ExitOK {
			t.Errorf("validate %s: %d %s", topo, code, errs)
		}
	}
	if code, _, errs := run(t, "", "init", "--topology", "cloud"); code != ExitUsage || !strings.Contains(errs, "lab, kopnik, single or full") {
		t.Errorf("bad topology: %d %s", code, errs)
	}
}

func TestInitOutputIsPrivateAndNeverOverwrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "site.yaml")
	if code, _, _ := run(t, "", "init", "-o", p); code != ExitOK {
		t.Fatal(code)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	if code, _, errs := run(t, "", "init", "-o", p); code != ExitUsage || !strings.Contains(errs, "exists") {
		t.Errorf("overwrote: %d %s", code, errs)
	}
}

func TestValidateNamesFieldAndFixAndChangesNothing(t *testing.T) {
	dir := t.TempDir()
	data, _ := examples.Site("kopnik")
	bad := strings.Replace(string(data), "203.0.113.10", "10.0.0.300", 1)
	bad = strings.Replace(bad, "admin_email:", "admin_emial:", 1)
	p := filepath.Join(dir, "site.yaml")
	os.WriteFile(p, []byte(bad), 0o600)
	code, _, errs := run(t, "", "validate", "--config", p)
	if code != ExitUsage || !strings.Contains(errs, "admin_emial: unknown key; did you mean admin_email?") {
		t.Fatalf("code %d: %s", code, errs)
	}
	bad = strings.Replace(bad, "admin_emial:", "admin_email:", 1)
	os.WriteFile(p, []byte(bad), 0o600)
	code, _, errs = run(t, "", "apply", "--config", p, "--yes")
	if code != ExitUsage || !strings.Contains(errs, `hosts[0].address: "10.0.0.300" is not an IP address`) {
		t.Fatalf("code %d: %s", code, errs)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("a bad site file left files behind: %v", entries)
	}
}

func TestNoArgsWithoutTerminalSaysWhatToDo(t *testing.T) {
	code, _, errs := run(t, "")
	if code != ExitUsage || !strings.Contains(errs, "collabstack apply --config FILE") {
		t.Errorf("%d %s", code, errs)
	}
}

func TestSecretSetStoresWithoutPrinting(t *testing.T) {
	dir := t.TempDir()
	data, _ := examples.Site("kopnik")
	p := filepath.Join(dir, "kopnik.yaml")
	os.WriteFile(p, data, 0o600)
	code, out, errs := run(t, "hunter2-very-secret\n", "secret", "set", "standby-password", "--config", p)
	if code != ExitOK || strings.Contains(out+errs, "hunter2") {
		t.Fatalf("%d %q %q", code, out, errs)
	}
	st, err := os.Stat(filepath.Join(dir, "kopnik.state", "secrets.yaml"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secrets file: %v %v", err, st)
	}
	_, out, _ = run(t, "", "secret", "list", "--config", p)
	if strings.TrimSpace(out) != "standby-password" {
		t.Errorf("list: %q", out)
	}
}
