package site

import (
	"strings"
	"testing"
)

func TestFirewallAdminNetworks(t *testing.T) {
	s, err := parseValid(t, base+"firewall:\n  admin_networks: [203.0.113.7, 192.168.1.9/24, \"2001:db8::/32\"]\nprepare:\n  keep_password_login: true\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Firewall.AdminNetworks) != 3 || !s.Prepare.KeepPasswordLogin {
		t.Fatalf("parsed %+v %+v", s.Firewall, s.Prepare)
	}
	for in, want := range map[string]string{"203.0.113.7": "203.0.113.7/32", "192.168.1.9/24": "192.168.1.0/24", "2001:db8::1": "2001:db8::1/128"} {
		p, err := ParseNetwork(in)
		if err != nil || p.String() != want {
			t.Errorf("ParseNetwork(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	_, err = parseValid(t, base+"firewall:\n  admin_networks: [\"10.0.0.0/8; rm -rf /\"]\n")
	if err == nil || !strings.Contains(err.Error(), "firewall.admin_networks[0]") {
		t.Fatalf("a bad network is not refused by name: %v", err)
	}
}
