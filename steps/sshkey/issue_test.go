package sshkey_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/ssh"
	"github.com/collabstack/collabstack/steps/sshkey"
)

// Issue makes a new key every time (a machine made anew gets a new host
// key), private half 0600, and Fingerprint reads the public half back.
func TestIssueMakesANewKeyEachTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hostkeys", "vm_ed25519")
	priv1, pub1, err := sshkey.Issue(path, "")
	if err != nil {
		t.Fatal(err)
	}
	priv2, pub2, err := sshkey.Issue(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if pub1 == pub2 || string(priv1) == string(priv2) {
		t.Fatal("Issue gave the same key twice")
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	if di, _ := os.Stat(filepath.Dir(path)); di.Mode().Perm() != 0o700 {
		t.Errorf("key folder mode %v", di.Mode().Perm())
	}
	signer, err := gossh.ParsePrivateKey(priv2)
	if err != nil {
		t.Fatal(err)
	}
	if got := sshkey.Fingerprint(path); got != gossh.FingerprintSHA256(signer.PublicKey()) || !strings.HasPrefix(pub2, "ssh-ed25519 ") {
		t.Errorf("Fingerprint %q, public %q", got, pub2)
	}
	if sshkey.Fingerprint(filepath.Join(t.TempDir(), "none")) != "" {
		t.Error("a missing key has a fingerprint")
	}
}

// The dropbear key file is what the real dropbear (Debian's dropbear-bin,
// the same upstream OpenWrt builds) reads: dropbearkey -y prints the
// issued public key, as OpenWrt's init script checks it (file_verify),
// and dropbear serving it offers the issued key. What this cannot show:
// OpenWrt's first boot writing the file (the image step's script, checked
// by shellcheck and its render test).
func TestDropbearReadsTheIssuedKey(t *testing.T) {
	keygen := testtools.NeedCommand(t, "dropbearkey", "Debian package dropbear-bin")
	server := testtools.NeedCommand(t, "dropbear", "Debian package dropbear-bin")
	dir := t.TempDir()
	path := filepath.Join(dir, "router_ed25519")
	_, pub, err := sshkey.Issue(path, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sshkey.Dropbear(path)
	if err != nil {
		t.Fatal(err)
	}
	dbFile := filepath.Join(dir, "dropbear_ed25519_host_key")
	if err := os.WriteFile(dbFile, db, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(keygen, "-y", "-f", dbFile).CombinedOutput()
	if err != nil {
		t.Fatalf("dropbearkey -y: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), pub) {
		t.Fatalf("dropbearkey -y printed\n%s\nwant the issued key %s", out, pub)
	}

	// dropbear offers it, next to an RSA key as OpenWrt's init script
	// makes one too; the client, given the issued key's fingerprint, asks
	// for ed25519 and verifies it before it logs in (the login itself
	// fails: no account here has our key).
	rsaFile := filepath.Join(dir, "dropbear_rsa_host_key")
	if out, err := exec.Command(keygen, "-t", "rsa", "-s", "2048", "-f", rsaFile).CombinedOutput(); err != nil {
		t.Fatalf("dropbearkey -t rsa: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(server, "-F", "-E", "-s", "-r", rsaFile, "-r", dbFile, "-p", "127.0.0.1:"+strconv.Itoa(port), "-P", filepath.Join(dir, "dropbear.pid"))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	userKey := filepath.Join(dir, "id_ed25519")
	if _, err := sshkey.Ensure(userKey, ""); err != nil {
		t.Fatal(err)
	}
	spec := host.Spec{Name: "router", Address: "127.0.0.1", Port: port, User: "root", KeyFile: userKey,
		HostKey: sshkey.Fingerprint(path), HostKeyIssued: true}
	for i := 0; i < 50; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var h *ssh.Host
		h, err = ssh.Dial(ctx, spec, ssh.Options{ConnectTimeout: 3 * time.Second})
		cancel()
		if err == nil {
			h.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var unknown *ssh.HostKeyUnknownError
	if errors.Is(err, host.ErrHostKeyChanged) || errors.As(err, &unknown) || err == nil || !strings.Contains(err.Error(), "authenticat") {
		t.Fatalf("want a refused login after the host key was verified, got %v\n%s", err, log.String())
	}
}
