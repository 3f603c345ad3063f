package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/host"
)

const vpnserverBin = "/usr/libexec/softether/vpnserver/vpnserver"

// TestSoftEtherLocal installs Debian's softether-vpnserver on this
// machine (when it is not there yet), runs the SoftEther steps against
// it, checks hub, users and settings with vpncmd, and runs the steps a
// second time, which must change nothing. It needs root and a server it
// can own: a server already here (Debian's package starts one when it is
// installed) is stopped and its state set aside, and both come back when
// the test ends.
func TestSoftEtherLocal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: apt-get and the VPN server")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("needs apt-get (Debian)")
	}
	setAsideServer(t)
	t.Cleanup(func() {
		if _, err := os.Stat(vpnserverBin); err == nil {
			exec.Command(vpnserverBin, "stop").Run()
		}
		for _, p := range []string{"/var/lib/softether", "/var/log/softether", "/run/softether"} {
			os.RemoveAll(p)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	s := testSite(t)
	state := t.TempDir()
	env := testEnv(t, host.NewLocal("vpn-test"))
	o := SoftEtherOptions{Mode: ModeSecureNAT, PublicHost: "vpn.collab.example.org"}
	steps := SoftEtherStepsWith(s, "vpn-test", state, o)
	if n := runSteps(ctx, t, env, steps); n < len(steps)-1 {
		t.Errorf("first run changed %d of %d steps; a fresh server needs all but the install", n, len(steps))
	}

	// Verify with vpncmd itself.
	pw, _ := env.Secrets.Get(SoftEtherAdminSecret)
	psk, _ := env.Secrets.Get(SoftEtherPSKSecret)
	vpn := func(cmds ...string) string {
		t.Helper()
		f := filepath.Join(t.TempDir(), "cmds")
		if err := os.WriteFile(f, []byte(strings.Join(cmds, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.CommandContext(ctx, "timeout", "30", "vpncmd", "localhost:5555", "/SERVER", "/CSV", "/IN:"+f)
		cmd.Stdin = strings.NewReader(pw + "\n")
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	out := vpn("HubList", "IPsecGet", "ProtoOptionsGet OpenVPN", "Hub VPN", "UserList", "StatusGet", "SecureNatHostGet", "DhcpGet")
	if strings.Contains(out, "Access has been denied") || !strings.Contains(out, "Password:") {
		t.Fatalf("the admin password is not the one in the secrets store:\n%s", out)
	}
	for _, want := range []string{
		"\nVPN,Online", "L2TP over IPsec Server Function Enabled,Yes", "IPsec Pre-Shared Key String," + psk,
		"Name of Default Virtual Hub,VPN", "Enabled,Boolean,True", "\nalice,", "\nbob,", "SecureNAT,Enabled",
		"IP Address,10.20.0.1", "Start Distribution Address Band,10.20.0.10", "DNS Server Address 1,10.10.0.1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("vpncmd output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("vpncmd output:\n%s", out)
	}

	// Client bundles: private folders and files, the user's password in them.
	alicePW, _ := env.Secrets.Get(VPNUserSecretPrefix + "alice")
	dir := filepath.Join(ClientsDir(state), "alice")
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("bundle folder %s: %v %v", dir, st, err)
	}
	for _, name := range []string{"openvpn.ovpn", "l2tp.txt", "login.txt", "README.txt"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("bundle file %s: %v %v", name, st, err)
		}
	}
	login, _ := os.ReadFile(filepath.Join(dir, "login.txt"))
	if string(login) != "alice@VPN\n"+alicePW+"\n" {
		t.Errorf("login.txt is %q", login)
	}
	ovpn, _ := os.ReadFile(filepath.Join(dir, "openvpn.ovpn"))
	if !strings.Contains(string(ovpn), "remote vpn.collab.example.org 1194") || !strings.Contains(string(ovpn), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("openvpn.ovpn lacks the remote or the server certificate:\n%s", ovpn)
	}

	// A second run changes nothing.
	if n := runSteps(ctx, t, env, SoftEtherStepsWith(s, "vpn-test", state, o)); n != 0 {
		t.Errorf("second run changed %d steps, want 0", n)
	}

	// A user removed from the site file goes; a user collabstack did not
	// make stays.
	if got := vpn("Hub VPN", "UserCreate carol /GROUP:none /REALNAME:none /NOTE:hers"); strings.Contains(got, "Error occurred") {
		t.Fatalf("create carol: %s", got)
	}
	s.Network.VPNUsers = []string{"alice"}
	if n := runSteps(ctx, t, env, SoftEtherStepsWith(s, "vpn-test", state, o)); n != 2 {
		t.Errorf("removing bob changed %d steps, want 2 (users, clients)", n)
	}
	out = vpn("Hub VPN", "UserList")
	if strings.Contains(out, "\nbob,") || !strings.Contains(out, "\nalice,") || !strings.Contains(out, "\ncarol,") {
		t.Errorf("after removing bob the users are:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(ClientsDir(state), "bob")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("bob's bundle is still there: %v", err)
	}
}

// setAsideServer stops a vpnserver this test did not start and moves its
// state directory aside, so the test starts from a fresh server; when the
// test ends the state is put back and the server started again.
func setAsideServer(t *testing.T) {
	t.Helper()
	const state = "/var/lib/softether"
	running := func() bool {
		out, _ := exec.Command("pidof", "vpnserver").Output()
		return len(strings.TrimSpace(string(out))) > 0
	}
	stop := func() {
		exec.Command(vpnserverBin, "stop").Run()
		for i := 0; running() && i < 50; i++ {
			time.Sleep(200 * time.Millisecond)
		}
		for i := 0; running() && i < 10; i++ {
			exec.Command("pkill", "-x", "vpnserver").Run()
			time.Sleep(500 * time.Millisecond)
		}
	}
	wasRunning := running()
	if wasRunning {
		t.Log("a vpnserver is running (Debian's package starts one on install): stopping it for this test")
		stop()
		if running() {
			t.Fatal("the vpnserver that was running here did not stop")
		}
	}
	aside := ""
	if _, err := os.Stat(state); !errors.Is(err, fs.ErrNotExist) {
		aside = fmt.Sprintf("%s.before-test-%d", state, os.Getpid())
		if err := os.Rename(state, aside); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s moved to %s for the test", state, aside)
	}
	// Registered first, so it runs after the test's own clean-up.
	t.Cleanup(func() {
		// The test's server goes first, whatever state it was left in.
		stop()
		if running() {
			t.Errorf("the test's vpnserver did not stop")
		}
		if aside != "" {
			os.RemoveAll(state)
			if err := os.Rename(aside, state); err != nil {
				t.Errorf("put %s back: %v", state, err)
			}
		}
		if wasRunning {
			// Its unit makes these at start (RuntimeDirectory, LogsDirectory).
			os.MkdirAll("/run/softether", 0o755)
			os.MkdirAll("/var/log/softether", 0o755)
			if out, err := exec.Command(vpnserverBin, "start").CombinedOutput(); err != nil {
				t.Errorf("start the vpnserver that was running before: %v %s", err, out)
			}
		}
	})
}
