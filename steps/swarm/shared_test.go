package swarm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/testtools"
)

func TestSharedStackRendersPinnedAndPassesDockerStackConfig(t *testing.T) {
	st, err := RenderShared("agent-Secret_1", "portainer_admin_password_0123456789ab")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ServiceNames(st.Files["stack.yaml"]), ","); got != "agent,portainer,registry" {
		t.Fatalf("services %s", got)
	}
	if n := strings.Count(string(st.Files["stack.yaml"]), "AGENT_SECRET: \"agent-Secret_1\""); n != 2 {
		t.Errorf("AGENT_SECRET is set on %d services, want Portainer and its agent", n)
	}
	images, err := SharedImages()
	if err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		if !strings.Contains(string(st.Files["stack.yaml"]), img) || strings.HasSuffix(img, ":latest") {
			t.Errorf("image %s missing or unpinned", img)
		}
	}
	docker := testtools.StackConfigDocker(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "stack.yaml"), st.Files["stack.yaml"], 0o600)
	cmd := exec.Command(docker, "stack", "config", "-c", "stack.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker stack config: %v\n%s", err, out)
	}
}

func TestServiceNamesOfBadYAML(t *testing.T) {
	if ServiceNames([]byte("services: [")) != nil {
		t.Fatal("bad YAML gave services")
	}
}
