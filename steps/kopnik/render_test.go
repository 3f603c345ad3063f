package kopnik

import (
	"github.com/collabstack/collabstack/steps/pki"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

func testSite() *site.Site {
	s := &site.Site{Domain: "kopnik.example.org", Prepare: site.Prepare{SFTPRoot: "/home/ubuntu/sftp"}}
	return s
}

func TestStackHasTheSeedsSettingsPinnedImagesPlacementAndLimits(t *testing.T) {
	o, err := ParseOptions(nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Render(testSite(), o)
	if err != nil {
		t.Fatal(err)
	}
	stack := string(st.Files["stack.yaml"])
	for _, want := range []string{"max_connections=1000", "shared_buffers=512MB", "effective_cache_size=1024MB", "work_mem=40MB", "/home/ubuntu/sftp/kp-client/.crossbar", "published: 443"} {
		if !strings.Contains(stack, want) {
			t.Errorf("the stack lacks %q", want)
		}
	}
	var doc struct {
		Services map[string]struct {
			Image  string `yaml:"image"`
			Ports  []any  `yaml:"ports"`
			Deploy struct {
				Placement struct {
					Constraints []string `yaml:"constraints"`
				} `yaml:"placement"`
				Resources struct {
					Limits struct {
						Memory string `yaml:"memory"`
					} `yaml:"limits"`
				} `yaml:"resources"`
			} `yaml:"deploy"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(st.Files["stack.yaml"], &doc); err != nil {
		t.Fatal(err)
	}
	if got := swarm.ServiceNames(st.Files["stack.yaml"]); strings.Join(got, ",") != "crossbar,db,nginx,node,smtp,visualizer" {
		t.Errorf("services %v", got)
	}
	for name, svc := range doc.Services {
		if !strings.Contains(svc.Image, ":") || strings.HasSuffix(svc.Image, ":latest") {
			t.Errorf("%s: image %q is not pinned", name, svc.Image)
		}
		if len(svc.Deploy.Placement.Constraints) == 0 || svc.Deploy.Resources.Limits.Memory == "" {
			t.Errorf("%s: no placement constraint or memory limit", name)
		}
	}
	if len(doc.Services["smtp"].Ports) != 0 {
		t.Errorf("the mail relay publishes ports: it must be send-only")
	}
	// A changed nginx.conf gets a new config name, so a redeploy applies it.
	o2 := o
	o2.VisualizerPort = 9999
	st2, _ := Render(testSite(), o2)
	if string(st2.Files["nginx.conf"]) != string(st.Files["nginx.conf"]) {
		t.Error("the visualizer port changed nginx.conf")
	}
}

func TestDockerStackConfigAcceptsTheStack(t *testing.T) {
	docker := testtools.StackConfigDocker(t)
	o, _ := ParseOptions(nil)
	st, err := Render(testSite(), o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, data := range st.Files {
		os.WriteFile(filepath.Join(dir, name), data, 0o600)
	}
	cmd := exec.Command(docker, "stack", "config", "-c", "stack.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker stack config: %v\n%s", err, out)
	}
}

func TestOptions(t *testing.T) {
	if _, err := ParseOptions(map[string]any{"server_rep": "x"}); err == nil || !strings.Contains(err.Error(), "server_rep") {
		t.Errorf("unknown option: %v", err)
	}
	o, err := ParseOptions(map[string]any{"start_command": "npm run server:production", "visualizer_port": 8091})
	if err != nil || o.StartCommand != "npm run server:production" || o.VisualizerPort != 8091 {
		t.Errorf("%+v %v", o, err)
	}
}

func TestSelfSignedCertificateCoversTheDomain(t *testing.T) {
	cert, key, err := pki.SelfSigned("kopnik.test")
	if err != nil || len(key) == 0 {
		t.Fatal(err)
	}
	if !pki.Covers(cert, "kopnik.test") || pki.Covers(cert, "other.test") {
		t.Error("certificate coverage is wrong")
	}
}
