package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/examples"
)

type fakeCatalog []string

func (c fakeCatalog) Has(n string) bool { return contains(c, n) }
func (c fakeCatalog) Names() []string   { return c }

var catalog = fakeCatalog{"kopnik", "postgres", "redis", "nextcloud", "onlyoffice", "etherpad"}

func parseValid(t *testing.T, src string) (*Site, error) {
	t.Helper()
	s, err := Parse([]byte(src))
	if err != nil {
		return nil, err
	}
	s.ApplyDefaults()
	return s, s.Validate(catalog)
}

func TestExamplesValidate(t *testing.T) {
	for _, topo := range Topologies {
		data, err := examples.Site(topo)
		if err != nil {
			t.Fatal(err)
		}
		s, err := parseValid(t, string(data))
		if err != nil {
			t.Errorf("examples/%s.yaml: %v", topo, err)
			continue
		}
		if s.Topology != topo {
			t.Errorf("examples/%s.yaml has topology %q", topo, s.Topology)
		}
	}
}

const base = `version: 1
topology: kopnik
domain: kopnik.example.org
admin_email: admin@kopnik.example.org
hosts:
  - name: main
    address: 10.0.0.5
    role: manager
`

func TestValidationMessages(t *testing.T) {
	cases := []struct {
		name, src, field, want string
	}{
		{"bad ip", strings.Replace(base, "10.0.0.5", "10.0.0.300", 1), "hosts[0].address", `"10.0.0.300" is not an IP address`},
		{"bad domain", strings.Replace(base, "domain: kopnik.example.org", "domain: kop_nik.org", 1), "domain", "not a valid domain name"},
		{"bad email", strings.Replace(base, "admin@kopnik.example.org", "admin-at-example", 1), "admin_email", "not an e-mail address"},
		{"bad topology", strings.Replace(base, "topology: kopnik", "topology: kopnic", 1), "topology", "not a topology"},
		{"bad role", strings.Replace(base, "role: manager", "role: manger", 1), "hosts[0].role", "not a role"},
		{"no version", strings.Replace(base, "version: 1\n", "", 1), "version", "missing"},
		{"letsencrypt on .test", strings.Replace(base, "kopnik.example.org\n", "kopnik.test\n", 1) + "tls: {mode: letsencrypt}\n", "tls.mode", "reserved"},
		{"unknown component", base + "components:\n  nextclod: {}\n", "components.nextclod", "not a known component"},
		{"password in site file", base + "  - name: b\n    address: b.example.org\n    role: standby\n    auth: {method: password, password_ref: 'hunter2 !'}\n", "hosts[1].auth.password_ref", "not a secret reference"},
		{"duplicate host", base + "  - name: main\n    address: 10.0.0.6\n    role: worker\n", "hosts[1].name", "used twice"},
		{"two managers", base + "  - name: m2\n    address: 10.0.0.6\n    role: manager\n", "hosts", "exactly 1"},
		{"port", strings.Replace(base, "role: manager", "role: manager\n    port: 70000", 1), "hosts[0].port", "not a TCP port"},
		{"jump", strings.Replace(base, "role: manager", "role: manager\n    jump: gateway", 1), "hosts[0].jump", "not a host of this site"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseValid(t, c.src)
			es, ok := err.(Errors)
			if !ok {
				t.Fatalf("want Errors, got %T %v", err, err)
			}
			fe, found := es.Field(c.field)
			if !found {
				t.Fatalf("no error for %s in:\n%v", c.field, es)
			}
			if !strings.Contains(fe.Problem, c.want) || fe.Fix == "" {
				t.Errorf("%s: got %q (fix %q), want it to say %q and give a fix", c.field, fe.Problem, fe.Fix, c.want)
			}
		})
	}
}

func TestMessageFormat(t *testing.T) {
	_, err := parseValid(t, strings.Replace(base, "10.0.0.5", "10.0.0.300", 1))
	if !strings.Contains(err.Error(), `hosts[0].address: "10.0.0.300" is not an IP address`) {
		t.Errorf("message: %v", err)
	}
}

func TestUnknownKeyDidYouMean(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(base, "address:", "adress:", 1)))
	if err == nil || !strings.Contains(err.Error(), "hosts[0].adress: unknown key; did you mean address?") {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "line 7") {
		t.Errorf("no line number in %v", err)
	}
	_, err = Parse([]byte(base + "domian: x\n"))
	if err == nil || !strings.Contains(err.Error(), "did you mean domain?") {
		t.Fatalf("got %v", err)
	}
}

func TestTypeErrorNamesField(t *testing.T) {
	_, err := Parse([]byte(strings.Replace(base, "role: manager", "role: manager\n    port: twenty-two", 1)))
	if err == nil || !strings.Contains(err.Error(), "hosts[0].port") {
		t.Fatalf("got %v", err)
	}
}

func TestDefaults(t *testing.T) {
	s, err := parseValid(t, base+"  - name: w\n    address: 10.0.0.6\n    user: ubuntu\n    role: worker\n")
	if err != nil {
		t.Fatal(err)
	}
	m, w := s.Hosts[0], s.Hosts[1]
	if m.Port != 22 || m.User != "root" || *m.Sudo || m.Labels[NodeLabel] != LabelInfra || m.Auth.Method != AuthKey {
		t.Errorf("manager defaults: %+v", m)
	}
	if !*w.Sudo || w.Labels[NodeLabel] != LabelCommon {
		t.Errorf("worker defaults: %+v", w)
	}
	if s.TLS.Mode != TLSLetsEncrypt || s.Prepare.SFTPRoot != "/home/ubuntu/sftp" {
		t.Errorf("site defaults: %+v %+v", s.TLS, s.Prepare)
	}
}

func TestFullDefaultsVMs(t *testing.T) {
	data, _ := examples.Site("single")
	s, err := parseValid(t, string(data))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, vm := range s.Proxmox.VMs {
		names = append(names, vm.Name)
	}
	if got := strings.Join(names, ","); got != "outer-openwrt,vpn-openwrt,vpn-softether,swarm-manager,swarm-worker" {
		t.Errorf("vms: %s", got)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, topo := range Topologies {
		data, _ := examples.Site(topo)
		s, err := parseValid(t, string(data))
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseValid(t, string(out)); err != nil {
			t.Errorf("%s: re-reading the written site file: %v\n%s", topo, err, out)
		}
	}
}

func TestLoadResolvesStateDir(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "site.yaml")
	data, _ := examples.Site("lab")
	os.WriteFile(p, data, 0o600)
	s, err := Load(p, catalog)
	if err != nil {
		t.Fatal(err)
	}
	if s.StateDir != filepath.Join(dir, "site.state") {
		t.Errorf("state dir %s", s.StateDir)
	}
}

func TestCheckKeyFile(t *testing.T) {
	if e := CheckKeyFile("/nonexistent/key"); e == nil || !strings.Contains(e.Fix, "hosts add-key") {
		t.Errorf("missing key: %v", e)
	}
	p := filepath.Join(t.TempDir(), "k.pub")
	os.WriteFile(p, []byte("ssh-ed25519 AAAA"), 0o600)
	if e := CheckKeyFile(p); e == nil || !strings.Contains(e.Fix, "not the .pub") {
		t.Errorf("pub key: %v", e)
	}
}

func TestResolveRef(t *testing.T) {
	t.Setenv("CS_TEST_PW", "s3cret")
	if v, err := ResolveRef("env:CS_TEST_PW", nil); err != nil || v != "s3cret" {
		t.Errorf("env: %q %v", v, err)
	}
	if _, err := ResolveRef("nope", func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "collabstack secret set nope") {
		t.Errorf("missing: %v", err)
	}
}

func FuzzParseValidate(f *testing.F) {
	for _, topo := range Topologies {
		data, _ := examples.Site(topo)
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte("hosts: [{name: a, labels: {x: y}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		s.ApplyDefaults()
		if err := s.Validate(catalog); err != nil {
			for _, fe := range err.(Errors) {
				if fe.Problem == "" {
					t.Fatalf("error without a problem: %+v", fe)
				}
			}
			return
		}
		// A valid site survives a write and a re-read.
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-read: %v\n%s", err, out)
		}
		s2.ApplyDefaults()
		if err := s2.Validate(catalog); err != nil {
			t.Fatalf("re-validate: %v\n%s", err, out)
		}
	})
}
