package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/identity"
)

// users refuses bad names, e-mails, groups and passwords with exit 2 and a
// message naming the field and the fix, before connecting anywhere (the
// site's one host is a closed port, so any connection would fail with 1).
// The directory itself is tested live in steps/identity.
func TestUsersRefusesBadInputBeforeConnecting(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.yaml")
	os.WriteFile(site, []byte("version: 1\n"), 0o600)
	for _, tc := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"users", "add", "Jane Doe", "--name", "Jane"}, "", `name "Jane Doe": is not a valid name; use 1 to 32 characters`},
		{[]string{"users", "add", "admin", "--name", "Admin"}, "", `name "admin": is reserved`},
		{[]string{"users", "add", "jane", "--name", ""}, "", `full name "": is empty`},
		{[]string{"users", "add", "jane", "--name", "Jane", "--email", "not-an-address"}, "", `email "not-an-address": is not an e-mail address`},
		{[]string{"users", "add", "jane", "--name", "Jane", "--group", "Admins!"}, "", `group "Admins!": is not a valid group name`},
		{[]string{"users", "add", "jane", "--name", "Jane", "--password-stdin"}, "short\n", `password "(hidden)": has fewer than 12 characters`},
		{[]string{"users", "add", "jane", "--name", "Jane", "--password-stdin"}, "", `--password-stdin: no password on standard input`},
		{[]string{"users", "passwd", "9lives"}, "", `name "9lives"`},
		{[]string{"users", "disable", strings.Repeat("a", 33)}, "", `has 33 characters`},
		{[]string{"users", "groups", "jane", "--add", "a b"}, "", `group "a b"`},
	} {
		var out, errb bytes.Buffer
		args := append(tc.args, "--config", site)
		code := Main(args, strings.NewReader(tc.stdin), &out, &errb)
		if code != ExitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errb.String(), ExitUsage, tc.want)
		}
		if tc.stdin != "" && strings.Contains(errb.String()+out.String(), strings.TrimSpace(tc.stdin)) {
			t.Errorf("%v: the password given is printed", tc.args)
		}
	}
}

func TestUsersExitCodes(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("user jane %w", identity.ErrExists):   ExitDirectory,
		fmt.Errorf("user jane %w", identity.ErrNotFound): ExitDirectory,
		&identity.FieldError{Field: "name", Value: "x"}:  ExitUsage,
		fmt.Errorf("reach: %w", identity.ErrNoDirectory): ExitFailed,
	} {
		if got := exitCode(err); got != want {
			t.Errorf("exitCode(%v) = %d; want %d", err, got, want)
		}
	}
}
