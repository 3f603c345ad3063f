package pveinstall_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stubRepo is a signed APT repository standing in for the Proxmox VE one
// (which this machine cannot reach): dummy packages under the real names,
// signed with a throwaway key, laid out as download.proxmox.com is.
type stubRepo struct {
	dir       string // served as the site root
	keySHA512 string // of proxmox-release-bookworm.gpg
	debs      map[string]string
}

// stubPackage is one dummy package: control fields and files.
type stubPackage struct {
	name, version string
	depends       string
	files         map[string]string // path -> content
	modes         map[string]os.FileMode
}

// needTools skips the test when the tools that build the stub are missing.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"gpg", "dpkg-deb", "dpkg-scanpackages"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install gnupg dpkg-dev): the stub repository needs it", tool)
		}
	}
}

// buildStubRepo makes the repository. enterpriseURL goes into the dummy
// pve-enterprise.list, as the real packages add one.
func buildStubRepo(t *testing.T, kernelRelease, enterpriseURL string) *stubRepo {
	t.Helper()
	root := t.TempDir()
	gnupg := filepath.Join(root, "gnupg")
	if err := os.Mkdir(gnupg, 0o700); err != nil {
		t.Fatal(err)
	}
	gpg := func(args ...string) {
		t.Helper()
		cmd := exec.Command("gpg", append([]string{"--batch", "--yes", "--homedir", gnupg, "--passphrase", "", "--pinentry-mode", "loopback"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, out)
		}
	}
	gpg("--quick-gen-key", "collabstack stub repository <stub@collabstack.invalid>", "ed25519", "sign", "never")
	site := filepath.Join(root, "site")
	key := filepath.Join(site, "proxmox-release-bookworm.gpg")
	os.MkdirAll(site, 0o755)
	gpg("--output", key, "--export")
	keyData, err := os.ReadFile(key)
	if err != nil || len(keyData) == 0 {
		t.Fatalf("export the stub key: %v", err)
	}
	sum := sha512.Sum512(keyData)

	r := &stubRepo{dir: site, keySHA512: hex.EncodeToString(sum[:]), debs: map[string]string{}}
	pveversion := "#!/bin/sh\n# stub of pve-manager's pveversion (collabstack's test repository)\necho \"pve-manager/8.4.1/stub (running kernel: $(uname -r))\"\n"
	repoPkgs := []stubPackage{
		{name: "proxmox-kernel-stub-signed", version: "6.8.12-1", files: map[string]string{"boot/vmlinuz-" + kernelRelease: "stub kernel image\n"}},
		{name: "proxmox-default-kernel", version: "1.1.0", depends: "proxmox-kernel-stub-signed"},
		{name: "pve-manager", version: "8.4.1", files: map[string]string{
			"usr/bin/pveversion":                         pveversion,
			"etc/apt/sources.list.d/pve-enterprise.list": "deb " + enterpriseURL + " bookworm pve-enterprise\n",
		}, modes: map[string]os.FileMode{"usr/bin/pveversion": 0o755}},
		{name: "proxmox-ve", version: "8.4.0", depends: "pve-manager, proxmox-default-kernel, ifupdown2"},
	}
	pool := filepath.Join(site, "pve", "pool")
	for _, p := range repoPkgs {
		r.buildDeb(t, pool, p)
	}
	// The Debian kernel the install removes (installed by the test with
	// dpkg -i, outside the repository).
	extra := filepath.Join(root, "extra")
	r.buildDeb(t, extra, stubPackage{name: "linux-image-6.1.0-99-amd64", version: "6.1.999-1", files: map[string]string{"boot/vmlinuz-6.1.0-99-amd64": "stub Debian kernel\n"}})
	r.buildDeb(t, extra, stubPackage{name: "linux-image-amd64", version: "6.1.999-1", depends: "linux-image-6.1.0-99-amd64"})

	// dists/bookworm: Packages, Release, InRelease, Release.gpg.
	dist := filepath.Join(site, "pve", "dists", "bookworm")
	bin := filepath.Join(dist, "pve-no-subscription", "binary-amd64")
	os.MkdirAll(bin, 0o755)
	scan := exec.Command("dpkg-scanpackages", "pool", "/dev/null")
	scan.Dir = filepath.Join(site, "pve")
	packages, err := scan.Output()
	if err != nil {
		t.Fatalf("dpkg-scanpackages: %v", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "Packages"), packages, 0o644); err != nil {
		t.Fatal(err)
	}
	ps := sha256.Sum256(packages)
	release := fmt.Sprintf("Origin: collabstack stub\nLabel: collabstack stub\nSuite: bookworm\nCodename: bookworm\nDate: %s\nArchitectures: amd64\nComponents: pve-no-subscription\nDescription: stand-in for the Proxmox VE repository (tests only)\nSHA256:\n %s %d pve-no-subscription/binary-amd64/Packages\n",
		time.Now().UTC().Add(-time.Hour).Format(time.RFC1123), hex.EncodeToString(ps[:]), len(packages))
	rel := filepath.Join(dist, "Release")
	if err := os.WriteFile(rel, []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	gpg("--clearsign", "--output", filepath.Join(dist, "InRelease"), rel)
	gpg("--armor", "--detach-sign", "--output", filepath.Join(dist, "Release.gpg"), rel)
	return r
}

// buildDeb builds one dummy package into dir with dpkg-deb.
func (r *stubRepo) buildDeb(t *testing.T, dir string, p stubPackage) {
	t.Helper()
	tree := t.TempDir()
	os.MkdirAll(filepath.Join(tree, "DEBIAN"), 0o755)
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: collabstack tests <stub@collabstack.invalid>\n", p.name, p.version)
	if p.depends != "" {
		control += "Depends: " + p.depends + "\n"
	}
	control += "Description: stand-in for " + p.name + " (collabstack tests)\n"
	var conffiles []string
	for path, content := range p.files {
		full := filepath.Join(tree, path)
		os.MkdirAll(filepath.Dir(full), 0o755)
		mode := os.FileMode(0o644)
		if m, ok := p.modes[path]; ok {
			mode = m
		}
		if err := os.WriteFile(full, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(full, mode)
		if strings.HasPrefix(path, "etc/") {
			conffiles = append(conffiles, "/"+path)
		}
	}
	os.WriteFile(filepath.Join(tree, "DEBIAN", "control"), []byte(control), 0o644)
	if len(conffiles) > 0 {
		os.WriteFile(filepath.Join(tree, "DEBIAN", "conffiles"), []byte(strings.Join(conffiles, "\n")+"\n"), 0o644)
	}
	os.MkdirAll(dir, 0o755)
	deb := filepath.Join(dir, p.name+"_"+p.version+"_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", tree, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb %s: %v\n%s", p.name, err, out)
	}
	r.debs[p.name] = deb
}

// serve serves the repository on addr:0 until the test ends and returns
// its base URL; every request is logged.
func (r *stubRepo) serve(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatalf("listen on the lab network's gateway %s: %v", addr, err)
	}
	files := http.FileServer(http.Dir(r.dir))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		t.Logf("stub repository: %s %s", req.Method, req.URL.Path)
		files.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}
