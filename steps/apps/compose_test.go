package apps

import (
	"context"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// TestComposeGoLoadsEveryStack loads every rendered stack with
// compose-go/v2, interpolation on, as `docker stack deploy` would, and
// checks the typed model: placement, memory limits, pinned images, and
// nothing swarm ignores.
func TestComposeGoLoadsEveryStack(t *testing.T) {
	c := loadCatalog(t)
	for name, st := range renderAll(t, c) {
		dir := writeStack(t, st.Files)
		p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
			WorkingDir:  dir,
			ConfigFiles: []types.ConfigFile{{Filename: dir + "/stack.yaml", Content: st.Files["stack.yaml"]}},
			Environment: types.Mapping{},
		}, func(o *loader.Options) {
			o.SetProjectName(name, true)
			o.SkipInterpolation = false
			o.ResolvePaths = true
		})
		if err != nil {
			t.Errorf("%s: compose-go: %v", name, err)
			continue
		}
		if p.Name != name {
			t.Errorf("%s: project name %q", name, p.Name)
		}
		for _, svc := range p.Services {
			where := name + "/" + svc.Name
			if err := CheckImage(svc.Image); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			// A global service (an exporter) runs on every node.
			if svc.Deploy == nil || (len(svc.Deploy.Placement.Constraints) == 0 && svc.Deploy.Mode != "global") {
				t.Errorf("%s: no placement constraint", where)
			}
			if svc.Deploy == nil || svc.Deploy.Resources.Limits == nil || svc.Deploy.Resources.Limits.MemoryBytes <= 0 {
				t.Errorf("%s: no memory limit", where)
			}
			if len(svc.DependsOn) > 0 || svc.ContainerName != "" || svc.Build != nil || svc.Restart != "" || svc.Privileged || svc.NetworkMode != "" || svc.ShmSize != 0 {
				t.Errorf("%s: uses depends_on, container_name, build, restart, privileged, network_mode or shm_size, which swarm ignores or refuses", where)
			}
		}
	}
}
