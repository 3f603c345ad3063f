package cli

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/testtools"
)

// collab runs the binary as a user would (no terminal) and returns its
// exit code and what it printed.
func collab(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("collabstack %s: %v", strings.Join(args, " "), err)
	}
	t.Logf("$ collabstack %s  (exit %d)\n%s", strings.Join(args, " "), code, out)
	return code, string(out)
}

// TestCommandsAgainstALabSite runs the commands a user runs around an
// apply, as the binary, against a lab site of one real node: lab up
// writes the site file; validate and plan read it and the live node (plan
// changes nothing); status shows the node and says nothing ran yet;
// rollback refuses a site without VMs with the usage exit code; dns check
// asks a DNS server on loopback; images save writes a bundle docker can
// read and fails on an image it cannot get; with the node stopped, plan
// would start it again and status says it cannot be reached; lab down
// removes it.
func TestCommandsAgainstALabSite(t *testing.T) {
	testtools.NeedDocker(t)
	testtools.NeedCommand(t, "debootstrap", "apt-get install debootstrap")
	bin := binary(t)
	dir := t.TempDir()
	network := fmt.Sprintf("cs-cli-%d", os.Getpid()%100000)
	sitePath := filepath.Join(dir, "lab.yaml")
	state := filepath.Join(dir, "lab.state")
	t.Cleanup(func() {
		exec.Command(bin, "lab", "down", "--network", network, "--volumes", "--yes").Run()
	})

	code, out := collab(t, "lab", "up", "--nodes", "1", "--network", network, "--site", sitePath, "--state", state)
	if code != ExitOK || !strings.Contains(out, "The lab runs. Site file for it: "+sitePath) {
		t.Fatalf("lab up: exit %d", code)
	}
	siteBefore, err := os.ReadFile(sitePath)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := collab(t, "validate", "--config", sitePath); code != ExitOK {
		t.Fatalf("validate of the site lab up wrote: exit %d", code)
	}

	// plan reads the live node and changes nothing.
	code, out = collab(t, "plan", "--config", sitePath)
	m := regexp.MustCompile(`(\d+) to do, (\d+) done, (\d+) unknown`).FindStringSubmatch(out)
	if code != ExitOK || m == nil || m[1] == "0" || m[3] != "0" {
		t.Fatalf("plan on a fresh lab: exit %d, summary %v", code, m)
	}
	if !regexp.MustCompile(`(?m)^to do +lab-1 +\S`).MatchString(out) {
		t.Errorf("plan names no step to do on lab-1")
	}
	if _, err := os.Stat(filepath.Join(state, "journal.jsonl")); err == nil {
		t.Errorf("plan wrote a journal: it must change nothing")
	}
	_, again := collab(t, "plan", "--config", sitePath)
	if s := regexp.MustCompile(`(\d+) to do, (\d+) done, (\d+) unknown`).FindString(again); s != m[0] {
		t.Errorf("a second plan differs (%s, then %s): the first changed something", m[0], s)
	}

	// status: the node is up, nothing ran; exit 1 exactly when it shows
	// something unhealthy.
	code, out = collab(t, "status", "--config", sitePath)
	if !regexp.MustCompile(`✓ lab-1 +\S+ +manager +up: `).MatchString(out) || !strings.Contains(out, "Last run: none") {
		t.Errorf("status of a fresh lab")
	}
	if unhealthy := strings.Contains(out, "✗"); (code == ExitFailed) != unhealthy || (code != ExitOK && code != ExitFailed) {
		t.Errorf("status exit %d with unhealthy=%v", code, unhealthy)
	}
	code, out = collab(t, "status", "--config", sitePath, "--json")
	var st struct {
		Healthy bool
		Hosts   []struct {
			Name      string
			Reachable bool
			OS        string
		}
		LastRun *json.RawMessage `json:"last_run"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &st); err != nil {
		t.Fatalf("status --json: %v", err)
	}
	if len(st.Hosts) != 1 || !st.Hosts[0].Reachable || !strings.Contains(st.Hosts[0].OS, "Debian") || st.LastRun != nil || (code == ExitOK) != st.Healthy {
		t.Errorf("status --json: exit %d, %+v", code, st)
	}

	// rollback is for VMs: the usage exit code, and nothing changed.
	code, out = collab(t, "rollback", "lab-1", "--config", sitePath)
	if code != ExitUsage || !strings.Contains(out, "rollback is for VMs on Proxmox VE") {
		t.Errorf("rollback on a lab site: exit %d", code)
	}

	// dns check asks the resolver it is given: a dnsmasq on loopback.
	if dnsmasq, err := exec.LookPath("dnsmasq"); err == nil {
		port := freeUDPPort(t)
		d := exec.Command(dnsmasq, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
			"--listen-address=127.0.0.1", fmt.Sprintf("--port=%d", port),
			// kopnik.test has an A record and no AAAA; every other name
			// does not exist (nothing is forwarded).
			"--host-record=kopnik.test,192.0.2.10", "--address=/#/")
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Process.Kill(); d.Wait() })
		time.Sleep(300 * time.Millisecond)
		code, out = collab(t, "dns", "check", "--config", sitePath, "--resolver", fmt.Sprintf("127.0.0.1:%d", port))
		if !regexp.MustCompile(`(?m)^A +kopnik\.test +want .* got 192\.0\.2\.10`).MatchString(out) {
			t.Errorf("dns check does not show what the resolver answers for kopnik.test")
		}
		if (code == ExitOK) != strings.Contains(out, "All public records are in place.") {
			t.Errorf("dns check exit %d disagrees with what it printed", code)
		}
	} else {
		testtools.NeedCommand(t, "dnsmasq", "apt-get install dnsmasq-base")
	}

	// images save: a bundle of an image this machine has (the lab's
	// own), readable as docker save's format; an image it cannot get
	// fails with exit 1 and writes nothing.
	image := labImage(t, network)
	bundle := filepath.Join(dir, "bundle.tar")
	code, _ = collab(t, "images", "save", "-o", bundle, image)
	if code != ExitOK {
		t.Fatalf("images save %s: exit %d", image, code)
	}
	if tags := bundleTags(t, bundle); !strings.Contains(tags, image) {
		t.Errorf("the bundle carries %s, not %s", tags, image)
	}
	missing := filepath.Join(dir, "missing.tar")
	code, out = collab(t, "images", "save", "-o", missing, "registry.invalid/nothing:1")
	if code != ExitFailed || !strings.Contains(out, "registry.invalid/nothing:1") {
		t.Errorf("images save of an image nobody has: exit %d", code)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("a failed images save left %s", missing)
	}

	// The node stopped: plan would start it again (a lab site's plan
	// starts its nodes), status says it cannot be reached, with exit 1.
	container := network + "-1"
	if out, err := exec.Command("docker", "stop", "-t", "1", container).CombinedOutput(); err != nil {
		t.Fatalf("docker stop %s: %v %s", container, err, out)
	}
	code, out = collab(t, "plan", "--config", sitePath)
	if code != ExitOK || !regexp.MustCompile(`(?m)^to do +local +Start lab node lab-1`).MatchString(out) {
		t.Errorf("plan with lab-1 stopped: exit %d; want it to start lab-1 again", code)
	}
	code, out = collab(t, "status", "--config", sitePath, "--timeout", "5s")
	if code != ExitFailed || !regexp.MustCompile(`✗ lab-1 .*unreachable`).MatchString(out) {
		t.Errorf("status with lab-1 stopped: exit %d", code)
	}
	if data, _ := os.ReadFile(sitePath); string(data) != string(siteBefore) {
		t.Errorf("the commands changed the site file")
	}

	// lab down removes the node and its volume.
	code, _ = collab(t, "lab", "down", "--network", network, "--volumes", "--yes")
	if code != ExitOK {
		t.Errorf("lab down: exit %d", code)
	}
	if out, _ := exec.Command("docker", "ps", "-a", "--filter", "name=^"+container+"$", "--format", "{{.Names}}").Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("lab down left the container %s", out)
	}
	if out, _ := exec.Command("docker", "volume", "ls", "--filter", "name="+container, "--format", "{{.Name}}").Output(); strings.TrimSpace(string(out)) != "" {
		t.Errorf("lab down --volumes left the volume %s", out)
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// labImage is the image the lab's node runs (on this machine).
func labImage(t *testing.T, network string) string {
	t.Helper()
	out, err := exec.Command("docker", "inspect", "--format", "{{.Config.Image}}", network+"-1").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("the lab node's image: %v %s", err, out)
	}
	return strings.TrimSpace(string(out))
}

// bundleTags reads the image names from a docker save tar.
func bundleTags(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no manifest.json: not a docker save bundle", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name != "manifest.json" {
			continue
		}
		var m []struct{ RepoTags []string }
		if err := json.NewDecoder(tr).Decode(&m); err != nil {
			t.Fatal(err)
		}
		var tags []string
		for _, e := range m {
			tags = append(tags, e.RepoTags...)
		}
		return strings.Join(tags, " ")
	}
}
