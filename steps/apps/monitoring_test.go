package apps

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/internal/testtools"
)

// TestMonitoringConfigsPassUpstreamCheckers renders the monitoring
// component for a site with every app and runs Prometheus's own promtool
// over its configuration and rules and Alertmanager's amtool over its
// configuration (Debian's prometheus 2.42 and alertmanager 0.25: the
// pinned 2.55 and 0.28 read the same keys), with Grafana and cAdvisor on
// and off. The dashboard is valid JSON naming every web app.
func TestMonitoringConfigsPassUpstreamCheckers(t *testing.T) {
	promtool := testtools.NeedCommand(t, "promtool", "scripts/test installs prometheus")
	amtool := testtools.NeedCommand(t, "amtool", "scripts/test installs prometheus-alertmanager")
	c := loadCatalog(t)
	base := everything(t, c)
	for _, in := range variants(c, "monitoring", base) {
		st, err := c.Render("monitoring", in)
		if err != nil {
			t.Fatal(err)
		}
		dir := writeStack(t, st.Files)
		prom := strings.ReplaceAll(string(st.Files["prometheus.yml"]), "/etc/prometheus/rules.yml", filepath.Join(dir, "rules.yml"))
		if err := os.WriteFile(filepath.Join(dir, "prometheus-local.yml"), []byte(prom), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range [][]string{
			{promtool, "check", "config", filepath.Join(dir, "prometheus-local.yml")},
			{promtool, "check", "rules", filepath.Join(dir, "rules.yml")},
			{amtool, "check-config", filepath.Join(dir, "alertmanager.yml")},
		} {
			if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
				t.Errorf("%s: %v\n%s", strings.Join(cmd[1:], " "), err, out)
			}
		}
		if st.Files["site.json"] != nil {
			var d struct {
				Panels []struct {
					Options struct {
						Content string `json:"content"`
					} `json:"options"`
				} `json:"panels"`
			}
			if err := json.Unmarshal(st.Files["site.json"], &d); err != nil {
				t.Fatalf("site.json: %v", err)
			}
			for _, w := range c.WebApps(in) {
				if !strings.Contains(d.Panels[0].Options.Content, w.URL) {
					t.Errorf("the dashboard's app list lacks %s", w.URL)
				}
			}
		}
		for _, w := range c.WebApps(in) {
			if !strings.Contains(string(st.Files["prometheus.yml"]), "hostname: \""+w.Host+"\"") {
				t.Errorf("prometheus.yml does not probe %s through the edge", w.Host)
			}
		}
	}
}
