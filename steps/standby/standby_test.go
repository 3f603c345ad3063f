package standby

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

func TestScriptsPassShellcheck(t *testing.T) {
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Fatal("shellcheck is needed (Debian package shellcheck; scripts/test installs it)")
	}
	texts := map[string]string{}
	for name, data := range map[string]map[string]any{
		"standby/primary.sh":        {"User": ReplicationUser, "Slot": Slot},
		"standby/sync-setup.sh":     {"Dir": "/home/ubuntu/sftp", "Conf": Conf},
		"standby/sync-authorize.sh": {"Dir": "/home/ubuntu/sftp", "Key": "ssh-ed25519 AAAA"},
		"standby/promote.sh":        {"Superuser": Superuser},
	} {
		text, err := script.Render(name, data)
		if err != nil {
			t.Fatal(err)
		}
		texts[name] = text
	}
	d := map[string]any{"Dir": "/home/ubuntu/sftp", "Standby": "standby", "Conf": Conf, "State": State, "Port": 22, "Target": "root@203.0.113.11", "Script": SyncScript}
	files, err := syncFiles(d)
	if err != nil {
		t.Fatal(err)
	}
	texts["sync.sh"] = string(files[SyncScript])
	st, err := Render("postgres:17.2", "kopnik_replication_password_0123456789ab")
	if err != nil {
		t.Fatal(err)
	}
	texts["replica.sh"] = string(st.Files[replicaScriptName])
	for name, text := range texts {
		cmd := exec.Command("shellcheck", "-s", "sh", "-S", "warning", "-")
		cmd.Stdin = strings.NewReader(text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("shellcheck %s: %v\n%s", name, err, out)
		}
	}
	stack := string(st.Files["stack.yaml"])
	for _, want := range []string{"name: kopnik_db-data", "name: kopnik_kopnik", `node.labels.role == standby`, "image: postgres:17.2"} {
		if !strings.Contains(stack, want) {
			t.Errorf("stack lacks %q:\n%s", want, stack)
		}
	}
}

func TestStepsOnlyForAKopnikSiteWithAStandby(t *testing.T) {
	s := &site.Site{Topology: site.TopologyKopnik, Components: map[string]site.Component{"kopnik": {}}, Prepare: site.Prepare{SFTPRoot: "/home/ubuntu/sftp"}}
	hosts := []site.Host{{Name: "main", Role: site.RoleManager}, {Name: "standby", Role: site.RoleStandby}}
	steps, err := Steps(s, hosts)
	if err != nil || len(steps) != 7 {
		t.Fatalf("%d steps, %v", len(steps), err)
	}
	if steps, _ := Steps(s, hosts[:1]); len(steps) != 0 {
		t.Error("steps without a standby")
	}
}
