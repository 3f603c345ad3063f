package site

import (
	"strings"
	"testing"
)

// Hostile values for the fields that reach a shell or a config on a host;
// each must be refused, naming the field, and no message line may grow
// with the input.
func TestHostileValuesAreRefused(t *testing.T) {
	long := strings.Repeat("a", 100000)
	cases := []struct {
		name, src, field string
	}{
		{"sftp_root dotdot", base + "prepare: {sftp_root: /home/ubuntu/../../etc}\n", "prepare.sftp_root"},
		{"sftp_root space", base + "prepare: {sftp_root: '/home/u sftp'}\n", "prepare.sftp_root"},
		{"sftp_root newline", base + "prepare: {sftp_root: \"/home/x\\nMatch all\"}\n", "prepare.sftp_root"},
		{"node", base + "prepare: {node: 'lts; rm -rf /'}\n", "prepare.node"},
		{"ntp", base + "prepare: {ntp: ['pool.ntp.org;reboot']}\n", "prepare.ntp[0]"},
		{"name", base + "name: 'x$(id)'\n", "name"},
		{"email backtick", strings.Replace(base, "admin@kopnik.example.org", "'a`id`@example.org'", 1), "admin_email"},
		{"email dollar", strings.Replace(base, "admin@kopnik.example.org", "'a$(id)@example.org'", 1), "admin_email"},
		{"email quote", strings.Replace(base, "admin@kopnik.example.org", "\"a'b@example.org\"", 1), "admin_email"},
		{"email amp", strings.Replace(base, "admin@kopnik.example.org", "'a&b@example.org'", 1), "admin_email"},
		{"duplicate address", base + "  - name: b\n    address: 10.0.0.5\n    role: worker\n", "hosts[1].address"},
		{"label value", strings.Replace(base, "role: manager", "role: manager\n    labels: {role: 'in fra'}", 1), "hosts[0].labels"},
		{"host key", strings.Replace(base, "role: manager", "role: manager\n    host_key: 'SHA256:abc; id'", 1), "hosts[0].host_key"},
		{"long value", strings.Replace(base, "10.0.0.5", long, 1), "hosts[0].address"},
		{"component name", base + "components: {'a;b': {}}\n", "components"},
		{"acme server", base + "tls: {mode: letsencrypt, acme_server: 'https://ca.example.org/dir;id'}\n", "tls.acme_server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseValid(t, c.src)
			es, ok := err.(Errors)
			if !ok {
				t.Fatalf("want Errors, got %T %v", err, err)
			}
			if _, found := es.Field(c.field); !found {
				t.Fatalf("no error for %s in:\n%v", c.field, es)
			}
			for _, l := range strings.Split(es.Error(), "\n") {
				if len(l) > 300 {
					t.Errorf("line of %d characters: %.100s…", len(l), l)
				}
			}
		})
	}
}

func TestProxmoxKinds(t *testing.T) {
	src := `version: 1
topology: single
domain: example.org
admin_email: admin@example.org
hosts:
  - name: pve
    address: 10.0.0.2
    role: pve-server
network:
  wan_bridge: "vmbr0 up"
  public_ipv4: 1.2.3
proxmox:
  storage: "local;lvm"
  vms:
    - {name: a, on: pve, kind: debian, cores: 1000, memory_mb: 1024, disk_gb: 8, address: 10.10.0.5/24, bridges: ["br$x"]}
    - {name: b, on: pve, kind: debian, cores: 1, memory_mb: 1024, disk_gb: 8, address: 10.10.0.5/24}
`
	_, err := parseValid(t, src)
	es, _ := err.(Errors)
	for _, f := range []string{"network.wan_bridge", "network.public_ipv4", "proxmox.storage", "proxmox.vms[0].cores", "proxmox.vms[0].bridges[0]", "proxmox.vms[1].address"} {
		if _, ok := es.Field(f); !ok {
			t.Errorf("no error for %s in:\n%v", f, err)
		}
	}
}

func TestSecretReferenceIsNeverEchoed(t *testing.T) {
	src := base + "  - name: b\n    address: b.example.org\n    role: standby\n    auth: {method: password, password_ref: 'Tr0ub4dor&3 horse'}\n"
	_, err := parseValid(t, src)
	if err == nil || strings.Contains(err.Error(), "Tr0ub4dor") {
		t.Fatalf("echoed or accepted: %v", err)
	}
	src = base + "  - name: b\n    address: b.example.org\n    role: standby\n    auth: {method: password, password_ref: \"Tr0ub4dor\\n3\"}\n"
	_, err = parseValid(t, src)
	if err == nil || strings.Contains(err.Error(), "Tr0ub4dor") {
		t.Fatalf("echoed or accepted: %v", err)
	}
}

func TestKindsAcceptGoodValues(t *testing.T) {
	for _, c := range []struct {
		check func(string) *FieldError
		v     string
	}{
		{func(v string) *FieldError { return CheckPath(v, "/x") }, "/home/ubuntu/sftp"},
		{CheckInterface, "vmbr0"}, {CheckNodeVersion, "lts"}, {CheckNodeVersion, "22.12.0"}, {CheckNodeVersion, "distro"},
		{CheckGitRef, "master"}, {CheckGitRef, "v1.2.0"}, {CheckGitRef, "e388d17"},
		{CheckImage, "node:22.12.0"}, {CheckImage, "registry.example.org:5000/team/node:22"}, {CheckImage, "base"},
		{CheckSize, "10G"}, {CheckIPv4, "203.0.113.10"}, {CheckHostPort, "[smtp.example.org]:587"},
		{CheckText, "Kopnik — народное самоуправление"}, {CheckRepo, "https://github.com/alexey-baranov/kp-server.git"},
		{CheckRepo, "/srv/git/kp-server"}, {CheckCommand, "npm start"},
		{CheckFingerprint, "SHA256:" + strings.Repeat("A", 43)},
	} {
		if e := c.check(c.v); e != nil {
			t.Errorf("%q refused: %v", c.v, e)
		}
	}
	for _, c := range []struct {
		check func(string) *FieldError
		v     string
	}{
		{CheckGitRef, "-c core.sshCommand=id"}, {CheckGitRef, "a..b"}, {CheckImage, "node:22 ;id"}, {CheckImage, "Node"},
		{CheckSize, "10G;"}, {CheckText, "x'; drop"}, {CheckText, "a { }"}, {CheckRepo, "--upload-pack=id"}, {CheckCommand, "npm start && id"},
		{CheckInterface, "a-very-long-bridge-name"}, {CheckHostPort, "smtp.example.org"},
	} {
		if e := c.check(c.v); e == nil {
			t.Errorf("%q accepted", c.v)
		}
	}
}
