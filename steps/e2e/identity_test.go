package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/cli"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/identity"
)

// TestIdentityOnALabSwarm: the directory and FreeRADIUS deployed by the
// plan on a one-node lab swarm (the stand-ins run Debian's slapd and
// freeradius; secrets are swarm secrets, the network the overlay): apply
// sets up the directory's tree and the first administrator; `collabstack
// users add` (the CLI, over SSH to the manager) adds a person whose LDAP
// bind and radtest succeed; `users disable` makes both fail; a second
// apply changes nothing.
func TestIdentityOnALabSwarm(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test")
	}
	needDocker(t)
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	sitePath := filepath.Join(dir, "site.yaml")
	siteYAML := fmt.Sprintf(`version: 1
topology: lab
domain: id.test
admin_email: admin@id.test
lab: {nodes: 1, network: cs-id-%d, image: docker}
prepare: {node: distro}
# The host firewall is another concern's (its own lab test covers it).
firewall: {off: true}
components:
  openldap: {options: {first_admin: first.admin, first_admin_name: First Admin, first_admin_email: first@id.test}}
  freeradius: {}
`, os.Getpid()%100000)
	sess := openLabSite(t, sitePath, siteYAML)
	freshApply(t, ctx, sess)
	mgr, err := sess.Hosts.Get(ctx, "lab-1")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := sess.Hosts.Spec("lab-1")
	c, found, err := identity.Find(ctx, mgr, sess.Hosts)
	if err != nil || !found {
		t.Fatalf("the openldap container: %v %v", found, err)
	}
	bind := func(user, pw string) error {
		_, err := mgr.Run(ctx, "docker exec -i "+c.ID+" ldapwhoami -x -H ldapi:/// -D "+identity.UserDN("id.test", user)+" -y /dev/stdin", host.RunOpts{Sudo: true, Stdin: []byte(pw)})
		return err
	}
	first, _ := sess.Secrets.Get(identity.FirstAdminSecret)
	if err := bind("first.admin", first); err != nil {
		t.Errorf("the first administrator's bind: %v", err)
	}

	users := func(stdin string, args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := cli.Main(append(args, "--config", sitePath), strings.NewReader(stdin), &out, &errb)
		return code, out.String() + errb.String()
	}
	pw := "a-lab-password-for-jane"
	if code, out := users(pw+"\n", "users", "add", "jane", "--name", "Jane Lab", "--password-stdin"); code != 0 {
		t.Fatalf("users add: exit %d\n%s", code, out)
	}
	if code, out := users("", "users", "add", "jane", "--name", "Jane Again"); code != cli.ExitDirectory || !strings.Contains(out, "already exists") {
		t.Errorf("users add twice: exit %d\n%s", code, out)
	}
	if code, out := users("", "users", "list"); code != 0 || !strings.Contains(out, "jane") || !strings.Contains(out, "first.admin") {
		t.Errorf("users list: exit %d\n%s", code, out)
	}
	if err := bind("jane", pw); err != nil {
		t.Errorf("LDAP bind after users add: %v", err)
	}
	secret, _ := sess.Secrets.Get("freeradius-clients-secret")
	radtest := func(user, password string) string {
		// From the node itself (an address of the default client networks)
		// to the port published in host mode; the password on this test
		// command line is a throwaway one.
		out, _ := mgr.Run(ctx, "docker run --rm --network host freeradius/freeradius-server:3.2.3 radtest "+host.Quote(user)+" "+host.Quote(password)+" "+spec.Address+" 0 "+host.Quote(secret)+" 2>&1", host.RunOpts{Sudo: true})
		return out
	}
	var out string
	for i := 0; i < 30; i++ {
		if out = radtest("jane", pw); strings.Contains(out, "Access-Accept") {
			break
		}
		time.Sleep(2 * time.Second)
	}
	if !strings.Contains(out, "Access-Accept") {
		t.Errorf("radtest after users add: %s", out)
	}
	if code, out := users("", "users", "disable", "jane"); code != 0 {
		t.Fatalf("users disable: exit %d\n%s", code, out)
	}
	if bind("jane", pw) == nil {
		t.Error("LDAP bind of a disabled user succeeded")
	}
	if out := radtest("jane", pw); !strings.Contains(out, "Access-Reject") {
		t.Errorf("radtest of a disabled user: %s", out)
	}
	noopApply(t, ctx, sess, "second apply")
}
