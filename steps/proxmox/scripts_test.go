package proxmox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/templates"
)

// scriptData is sample data for every script of templates/proxmox/vms.
var scriptData = map[string]map[string]any{
	"token.sh":   {"User": UserID, "Role": RoleID, "Privs": strings.Join(Privileges, ","), "TokenName": TokenName, "Comment": "collabstack"},
	"storage.sh": {"Storage": "local", "Snippet": VendorSnippet, "Vendor": "#cloud-config\npackages: [qemu-guest-agent]"},
	"image.sh":   {"Path": "/var/lib/vz/import/x.qcow2", "URL": "https://example.org/x.qcow2", "Algo": "sha512", "Sum": strings.Repeat("0", 128)},
	"openwrt.sh": {"Gz": "/var/lib/collabstack/images/o.img.gz", "Raw": "/var/lib/vz/import/collabstack-r.raw", "Hash": strings.Repeat("a", 64)},
	"bridges.sh": {"Bridges": "vmbr1=10.10.0.254/24 vmbr2=-", "WAN": "vmbr0"},
}

func TestScriptsAreShellcheckClean(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck)")
	}
	entries, err := templates.FS.ReadDir(strings.TrimSuffix(tmplDir, "/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sh") {
			continue
		}
		data, ok := scriptData[e.Name()]
		if !ok {
			t.Errorf("%s%s has no sample data here: add it to scriptData", tmplDir, e.Name())
			continue
		}
		text, err := script.Render(tmplDir+e.Name(), data)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("shellcheck", "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", e.Name(), err, out)
		}
	}
}

// TestImageScriptVerifiesWhatItDownloads runs image.sh on this machine
// against a file served on loopback.
func TestImageScriptVerifiesWhatItDownloads(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	payload := []byte("not really a qcow2 image\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(payload) }))
	defer srv.Close()
	sum := sha256.Sum256(payload)
	path := filepath.Join(t.TempDir(), "import", "x.qcow2")
	run := func(mode, want string) (string, error) {
		text, err := script.Render(tmplDir+"image.sh", map[string]any{"Path": path, "URL": srv.URL + "/x.qcow2", "Algo": "sha256", "Sum": want})
		if err != nil {
			t.Fatal(err)
		}
		return host.NewLocal("local").Run(context.Background(), text, host.RunOpts{Env: map[string]string{"MODE": mode}})
	}
	exitCode := func(err error) int {
		var ee *host.ExitError
		if errors.As(err, &ee) {
			return ee.Code
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	good := hex.EncodeToString(sum[:])
	if out, err := run("check", good); exitCode(err) != script.CheckTodo || !strings.Contains(out, "todo: download") {
		t.Errorf("check before download: %v %q", err, out)
	}
	bad := strings.Repeat("0", 64)
	if _, err := run("apply", bad); exitCode(err) != 3 {
		t.Errorf("a wrong checksum: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a download with the wrong checksum was kept")
	}
	if _, err := run("apply", good); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(payload) {
		t.Errorf("downloaded %q", got)
	}
	if _, err := run("check", good); err != nil {
		t.Errorf("check after download: %v", err)
	}
	// Someone damaged the file: the check notices.
	os.WriteFile(path, []byte("damaged"), 0o644)
	if out, err := run("check", good); exitCode(err) != script.CheckTodo || !strings.Contains(out, "not the pinned one") {
		t.Errorf("check of a damaged file: %v %q", err, out)
	}
}

// mbrDisk lays out a disk image like OpenWrt's combined image: an MBR,
// partition 1 (boot) and partition 2 (root file system).
func mbrDisk(t *testing.T, p1, p2 []byte) []byte {
	t.Helper()
	const sector = 512
	start1 := uint32(2048)
	start2 := start1 + uint32(len(p1)/sector)
	disk := make([]byte, int(start1)*sector)
	entry := func(i int, start uint32, size int) {
		e := disk[446+16*i:]
		e[4] = 0x83
		for b := 0; b < 4; b++ {
			e[8+b] = byte(start >> (8 * b))
			e[12+b] = byte(uint32(size/sector) >> (8 * b))
		}
	}
	entry(0, start1, len(p1))
	entry(1, start2, len(p2))
	disk[510], disk[511] = 0x55, 0xAA
	return append(append(disk, p1...), p2...)
}

// TestOpenWrtScriptPutsTheFirstBootScriptIntoTheImage runs openwrt.sh on
// this machine (root, loop devices, mkfs.ext4) on an image laid out like
// OpenWrt's, gzipped with trailing padding as OpenWrt's are.
func TestOpenWrtScriptPutsTheFirstBootScriptIntoTheImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for losetup and mount")
	}
	for _, tool := range []string{"losetup", "mkfs.ext4", "gzip", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if out, err := exec.Command("losetup", "--find").CombinedOutput(); err != nil {
		t.Skipf("no loop devices here: %v %s", err, out)
	}
	dir := t.TempDir()
	fs := func(name string, mb int) []byte {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, make([]byte, mb<<20), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("mkfs.ext4", "-q", "-F", p).CombinedOutput(); err != nil {
			t.Fatalf("mkfs.ext4: %v %s", err, out)
		}
		data, _ := os.ReadFile(p)
		return data
	}
	disk := mbrDisk(t, fs("p1", 8), fs("p2", 16))
	gz := filepath.Join(dir, "openwrt.img.gz")
	cmd := exec.Command("gzip", "-c")
	cmd.Stdin = strings.NewReader(string(disk))
	zipped, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(gz, append(zipped, make([]byte, 4096)...), 0o644); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "import", "collabstack-outer-openwrt.raw")
	os.MkdirAll(filepath.Dir(raw), 0o755)
	firstboot := "#!/bin/sh\nuci set system.@system[0].hostname='outer-openwrt'\necho secret-password\n"
	sum := sha256.Sum256([]byte(firstboot))
	run := func(mode string) (string, error) {
		text, err := script.Render(tmplDir+"openwrt.sh", map[string]any{"Gz": gz, "Raw": raw, "Hash": hex.EncodeToString(sum[:])})
		if err != nil {
			t.Fatal(err)
		}
		return host.NewLocal("local").Run(context.Background(), text, host.RunOpts{Stdin: []byte(firstboot), Env: map[string]string{"MODE": mode}})
	}
	if out, err := run("check"); err == nil || !strings.Contains(out, "todo: make") {
		t.Fatalf("check before: %v %q", err, out)
	}
	if out, err := run("apply"); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if _, err := run("check"); err != nil {
		t.Errorf("check after apply: %v", err)
	}
	// Read the script back from partition 2 of the result.
	mnt := filepath.Join(dir, "mnt")
	os.MkdirAll(mnt, 0o755)
	offset := (2048 + 8<<20/512) * 512
	if out, err := exec.Command("mount", "-o", fmt.Sprintf("ro,loop,offset=%d,sizelimit=%d", offset, 16<<20), raw, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount partition 2 of %s: %v %s", raw, err, out)
	}
	defer exec.Command("umount", mnt).Run()
	p := filepath.Join(mnt, "etc", "uci-defaults", "99-collabstack")
	got, err := os.ReadFile(p)
	if err != nil || string(got) != firstboot {
		t.Errorf("first-boot script in the image: %q %v", got, err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("first-boot script mode: %v %v", st, err)
	}
	if _, err := os.Stat(raw + ".part"); !os.IsNotExist(err) {
		t.Error("a .part file was left behind")
	}
}

func TestVendorDataIsCloudConfig(t *testing.T) {
	data, err := templates.FS.ReadFile(vendorFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "#cloud-config\n") {
		t.Error("vendor data must start with #cloud-config")
	}
	var doc struct {
		WriteFiles []struct {
			Path, Permissions, Content string
		} `yaml:"write_files"`
		Runcmd [][]string `yaml:"runcmd"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.WriteFiles) != 1 || len(doc.Runcmd) != 1 || doc.Runcmd[0][len(doc.Runcmd[0])-1] != doc.WriteFiles[0].Path {
		t.Fatalf("vendor data %+v", doc)
	}
	if _, err := exec.LookPath("shellcheck"); err == nil {
		cmd := exec.Command("shellcheck", "-s", "sh", "-")
		cmd.Stdin = strings.NewReader(doc.WriteFiles[0].Content)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", doc.WriteFiles[0].Path, err, out)
		}
	}
}
