package templates

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/internal/testtools"
)

// Hostile values: every character shells, YAML, JSON, UCI and nginx read
// as syntax, and a line break followed by an unbalanced quote, so that a
// value pasted without its escaper breaks the file's syntax.
var hostile = []string{
	`a'b"c` + "`id`" + `$(id)${HOME};d\e` + "\n" + `'f"{g}#h PWNED`,
	`'; touch /tmp/pwned; echo '`,
	`"$(reboot)"`,
	"x\n- injected: true\nkey: {a: b}",
	`} location / { return 200 pwned; } #`,
	`\`, `''`, `""`, "", " ", "#", "&&|<>*?[~",
	"ünïcødé — текст",
}

// The shell escaper: a real sh prints back exactly the value.
func TestShRoundTripsThroughARealShell(t *testing.T) {
	sh := testtools.NeedCommand(t, "sh", "a POSIX shell")
	for _, v := range hostile {
		out, err := exec.Command(sh, "-c", "printf %s "+Sh(v)).CombinedOutput()
		if err != nil || string(out) != v {
			t.Errorf("sh read %q back as %q (%v)", v, out, err)
		}
		// q is sh in shell scripts, and UCI's quoting is the shell's.
		out, _ = exec.Command(sh, "-c", "printf %s "+UCI(v)).CombinedOutput()
		if string(out) != v {
			t.Errorf("uci %q read back as %q", v, out)
		}
	}
}

// YAML, compose and JSON: a parser reads back exactly the value, and no
// key appears that the value smuggled in.
func TestYAMLAndJSONRoundTrip(t *testing.T) {
	for _, v := range hostile {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte("value: "+YAML(v)+"\nafter: 1\n"), &doc); err != nil || doc["value"] != v || len(doc) != 2 {
			t.Errorf("yaml %q: %v %#v", v, err, doc)
		}
		var s string
		if err := json.Unmarshal([]byte(JSON(v)), &s); err != nil || s != v {
			t.Errorf("json %q: %v %q", v, err, s)
		}
		// docker reads $$ as $: the compose form differs only there.
		c := Compose(v)
		if err := yaml.Unmarshal([]byte("value: "+c+"\n"), &doc); err != nil || strings.ReplaceAll(doc["value"].(string), "$$", "$") != v {
			t.Errorf("compose %q: %v %#v", v, err, doc)
		}
	}
}

// nginx: a real nginx -t accepts the value as one argument; $ and control
// characters are refused.
func TestNginxEscaperPassesNginx(t *testing.T) {
	nginx := testtools.NeedCommand(t, "nginx", "scripts/test installs nginx-light")
	if _, err := exec.LookPath("nginx"); err != nil {
		nginx = "/usr/sbin/nginx"
	}
	prefix := t.TempDir()
	var b strings.Builder
	b.WriteString("worker_processes 1;\npid " + prefix + "/nginx.pid;\nerror_log stderr;\nevents { worker_connections 8; }\nhttp {\n  access_log off;\n")
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		b.WriteString("  " + d + "_temp_path " + prefix + "/" + d + ";\n")
	}
	b.WriteString("  server {\n    listen unix:" + prefix + "/s.sock;\n")
	n := 0
	for i, v := range hostile {
		q, err := Nginx(v)
		if strings.ContainsAny(v, "$\n") {
			if err == nil {
				t.Errorf("nginx took %q", v)
			}
			continue
		}
		if err != nil {
			t.Errorf("nginx refused %q: %v", v, err)
			continue
		}
		b.WriteString("    location = /v" + string(rune('a'+i)) + " { return 200 " + q + "; }\n")
		n++
	}
	b.WriteString("  }\n}\n")
	conf := filepath.Join(prefix, "nginx.conf")
	os.WriteFile(conf, []byte(b.String()), 0o644)
	out, err := exec.Command(nginx, "-t", "-p", prefix+"/", "-c", conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t: %v\n%s\n%s", err, out, b.String())
	}
	if n < 5 {
		t.Fatalf("only %d values reached nginx", n)
	}
}

var undefinedFunc = regexp.MustCompile(`function "([^"]+)" not defined`)

// Every template parses with the one loader: none uses an escaper that
// does not exist, and q only in shell scripts.
func TestEveryTemplateParses(t *testing.T) {
	n := 0
	fs.WalkDir(FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(p, ".tmpl") && !strings.HasSuffix(p, ".sh") {
			return nil
		}
		src, _ := fs.ReadFile(FS, p)
		if !strings.Contains(string(src), "{{") {
			return nil
		}
		// The catalog's own functions (secret, svc, urlOf...) are stubbed:
		// this is about escapers.
		extra := map[string]any{}
		for _, f := range []string{"secret", "secretOf", "dsecret", "dsecretOf", "dsecretName", "svc", "networks", "hostOf", "portOf", "urlOf", "has", "trimPrefix", "sha256hex", "b64sha256", "vapidPrivate", "vapidPublic", "seq", "mb", "dn"} {
			extra[f] = func(...any) string { return "" }
		}
		// Functions a package adds for its own templates are stubbed as
		// they come up; q never is, outside shell scripts it is an error.
		for i := 0; ; i++ {
			_, err := Parse(nil, p, extra)
			if err == nil {
				break
			}
			m := undefinedFunc.FindStringSubmatch(err.Error())
			if m == nil || m[1] == "q" || i > 20 {
				t.Errorf("%v", err)
				break
			}
			extra[m[1]] = func(...any) string { return "" }
		}
		n++
		return nil
	})
	if n < 50 {
		t.Fatalf("only %d templates", n)
	}
}
