package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// plainScript answers the plain wizard: a kopnik site with a main server
// (key file, tested, trusted) and a standby (password, sudo), a typo in
// an address, Nextcloud chosen, then install.
func plainScript(keyFile string) string {
	return strings.Join([]string{
		"2",          // topology: kopnik
		"",           // role: manager (the default)
		"",           // name: main
		"10.0.0.300", // a typo, refused
		"10.0.0.30",  // address
		"",           // port 22
		"",           // user root
		"1",          // a key file
		keyFile,      // the key
		"y",          // test the connection
		"y",          // trust the host key
		"y",          // another host
		"",           // role: standby
		"",           // name: standby
		"10.0.0.31",  // address
		"2222",       // port
		"deploy",     // user
		"3",          // a password
		"s3cret",     // the password
		"y",          // sudo
		"n",          // no test now
		"n",          // no more hosts
		"example.org",
		"admin@example.org",
		"1",         // Let's Encrypt
		"nextcloud", // brings postgres and redis
		"n",         // keep the advanced defaults
		"1",         // write and install
	}, "\n") + "\n"
}

// A scripted plain run, read from a real pipe, writes the expected site
// file (0600) and keeps the password out of it.
func TestPlainWizardScript(t *testing.T) {
	dir := t.TempDir()
	key := writeKey(t, dir)
	path := filepath.Join(dir, "site.yaml")
	be := NewFakeBackend()
	be.DNS = map[string][]string{"example.org": {"203.0.113.10"}}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.WriteString(plainScript(key))
		w.Close()
	}()
	var out bytes.Buffer
	got, err := RunWizard(context.Background(), Options{Backend: be, SitePath: path, In: r, Out: &out, Plain: true})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got != path {
		t.Fatalf("path %q", got)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("site file mode %v", st.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	text := strings.ReplaceAll(string(data), dir, "$DIR")
	if strings.Contains(text, "s3cret") {
		t.Fatal("the password is in the site file")
	}
	if sec := be.SavedSecrets(); sec["standby-password"] != "s3cret" {
		t.Errorf("secrets %v", sec)
	}
	transcript := out.String()
	for _, want := range []string{
		`error: "10.0.0.300" is not an IP address`,
		"main shows the host key SHA256:",
		"main: Debian GNU/Linux 12 (bookworm) · 4 cores · 8.0 GB RAM · 80 GB free",
		"example.org resolves to 203.0.113.10, not to a host of this site",
		"Chosen: nextcloud, postgres, redis",
		"[  1/10] ok      Connect and read facts on main (1.5s)",
		"Installed.",
	} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q", want)
		}
	}
	if strings.Contains(transcript, "\x1b") {
		t.Error("ANSI codes in plain mode")
	}
	if be.Runs() != 1 {
		t.Errorf("%d runs", be.Runs())
	}
	requireGolden(t, text)
}

// Input that ends early leaves nothing written.
func TestPlainWizardInputEnds(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	var out bytes.Buffer
	_, err := RunWizard(context.Background(), Options{Backend: NewFakeBackend(), SitePath: path,
		In: strings.NewReader("1\n2\n"), Out: &out, Plain: true})
	if err == nil || !strings.Contains(err.Error(), "input ended") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("a site file was written")
	}
}
