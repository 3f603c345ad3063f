package images

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/internal/labtest"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/site"
)

func TestWithMirrorKeepsOtherSettings(t *testing.T) {
	cfg := map[string]any{"log-driver": "local", "registry-mirrors": []any{"https://a.example"}}
	data, err := withMirror(cfg, "https://b.example:5000")
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	json.Unmarshal(data, &back)
	if back["log-driver"] != "local" || !hasMirror(back, "https://a.example") || !hasMirror(back, "https://b.example:5000") {
		t.Fatalf("%s", data)
	}
}

func TestPullNeedsNoSteps(t *testing.T) {
	if got := Steps(&site.Site{Images: site.Images{Source: site.ImagesPull}}, "/", "h"); len(got) != 0 {
		t.Fatalf("%v", got)
	}
}

// runStep runs one step through the engine on a real host, returning the
// summary (Changed 1 when it applied, 0 when its Check found it done).
func runStep(t *testing.T, h host.Host, s engine.Step) engine.Summary {
	t.Helper()
	p := engine.NewPlan()
	p.MustAdd(s)
	inv := engine.NewInventory(func(context.Context, host.Spec, *engine.Inventory) (host.Host, error) { return h, nil }, host.Spec{Name: s.HostName()})
	sum, err := (&engine.Runner{Plan: p, Hosts: inv, Emit: func(e engine.Event) {
		if e.Line != "" {
			t.Log(e.Line)
		}
	}}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// A bundle saved here loads on a lab node, once; the mirror lands in the
// node's daemon.json and dockerd restarts with it.
func TestBundleAndMirrorOnALabNode(t *testing.T) {
	l := labtest.Start(t, 1, lab.ImageDocker)
	node := l.Dial(t, 0)
	ctx := context.Background()
	local := host.NewLocal("local")

	// A tiny image made here, since nothing can be pulled.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hello"), []byte("hello\n"), 0o644)
	ref := "collabstack-test/bundle:1"
	if _, err := local.Run(ctx, "tar -C "+host.Quote(dir)+" -c hello | docker import - "+ref, host.RunOpts{}); err != nil {
		t.Fatal(err)
	}
	defer local.Run(ctx, "docker rmi "+ref, host.RunOpts{})
	bundle := filepath.Join(dir, "bundle.tar")
	if err := Save(ctx, local, []string{ref}, bundle, func(l string) { t.Log(l) }); err != nil {
		t.Fatal(err)
	}
	if err := Save(ctx, local, []string{"collabstack-test/absent:1"}, bundle+".2", nil); err == nil || !strings.Contains(err.Error(), "collabstack-test/absent:1") {
		t.Fatalf("a missing image was not named: %v", err)
	}

	s := &site.Site{Images: site.Images{Source: site.ImagesBundle, Bundle: "bundle.tar"}}
	steps := Steps(s, dir, node.Name())
	if sum := runStep(t, node, steps[0]); sum.Changed != 1 {
		t.Fatalf("first load: %+v", sum)
	}
	if _, err := node.Run(ctx, "docker image inspect --format ok "+ref, host.RunOpts{}); err != nil {
		t.Fatalf("the image is not on the node: %v", err)
	}
	if sum := runStep(t, node, Steps(s, dir, node.Name())[0]); sum.Changed != 0 {
		t.Fatalf("second load changed something: %+v", sum)
	}

	m := &site.Site{Images: site.Images{Source: site.ImagesMirror, Mirror: "mirror.example:5000"}}
	if sum := runStep(t, node, Steps(m, dir, node.Name())[0]); sum.Changed != 1 {
		t.Fatalf("mirror: %+v", sum)
	}
	out, err := node.Run(ctx, "docker info --format '{{.RegistryConfig.Mirrors}}'", host.RunOpts{})
	if err != nil || !strings.Contains(out, "https://mirror.example:5000") {
		t.Fatalf("dockerd does not use the mirror: %q %v", out, err)
	}
	if sum := runStep(t, node, Steps(m, dir, node.Name())[0]); sum.Changed != 0 {
		t.Fatalf("mirror again: %+v", sum)
	}
}
