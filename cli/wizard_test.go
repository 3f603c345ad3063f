package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/sshtest"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

// The plain wizard with the real backend against a real sshd: the host
// key is read without trust and confirmed, the facts are read over SSH,
// the review plans in a scratch state, and "write only" leaves a site
// file (0600) that validates, with the confirmed key pinned in the
// site's known_hosts.
func TestPlainWizardWithRealBackend(t *testing.T) {
	srv := sshtest.Start(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "site.yaml")
	script := strings.Join([]string{
		"2",    // topology: kopnik
		"",     // role: manager
		"main", // name
		srv.Host,
		strconv.Itoa(srv.Port),
		srv.User,
		"1", // a key file
		srv.KeyFile,
		"y", // test the connection
		"y", // trust the host key
		"n", // no more hosts
		"kopnik.test",
		"admin@kopnik.test",
		"3",      // self-signed
		"kopnik", // the preset
		"n",      // keep the advanced defaults
		"2",      // write the site file only
	}, "\n") + "\n"
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.WriteString(script); w.Close() }()
	var out, errb bytes.Buffer
	code := Main([]string{"wizard", "--plain", "--config", path}, r, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errb.String(), out.String())
	}
	transcript := out.String()
	for _, want := range []string{"shows the host key SHA256:", "cores", "Wrote " + path} {
		if !strings.Contains(transcript, want) {
			t.Errorf("the transcript lacks %q:\n%s", want, transcript)
		}
	}
	if strings.Contains(transcript, "\x1b") {
		t.Error("plain output has ANSI codes")
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("site file: %v %v", st, err)
	}
	s, err := site.Load(path, (&app{}).catalog())
	if err != nil {
		t.Fatalf("the written site does not load: %v", err)
	}
	if _, ok := s.Components["kopnik"]; !ok || s.Hosts[0].Port != srv.Port {
		t.Errorf("site: %+v", s)
	}
	known, err := ssh.Open(filepath.Join(s.StateDir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if keys := known.Lookup("main", srv.Host+":"+strconv.Itoa(srv.Port)); len(keys) != 1 {
		t.Errorf("the confirmed host key is not pinned: %d keys", len(keys))
	}
}
