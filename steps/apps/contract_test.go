package apps

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/collabstack/collabstack/steps/site"
)

// stackUse is what a rendered stack's services set, mount and use.
type stackUse struct {
	env   map[string]map[string]bool // service -> environment key
	files map[string]map[string]bool // service -> mounted path, config or secret target
	ports map[string]map[int]string  // service -> container port -> why
	// secretRefs are environment values naming a file under /run/secrets
	// (the *_FILE variables): service -> path -> variable.
	secretRefs map[string]map[string]string
}

// stackUses loads a rendered stack with compose-go (as docker would) and
// gathers, per service, its environment keys, the paths it mounts
// (volumes, tmpfs, config and secret targets with docker's defaults) and
// the container ports it publishes.
func stackUses(t *testing.T, name string, files map[string][]byte, into *stackUse) error {
	t.Helper()
	dir := writeStack(t, files)
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: dir + "/stack.yaml", Content: files["stack.yaml"]}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SetProjectName(name, true)
		o.SkipInterpolation = false
		o.ResolvePaths = true
	})
	if err != nil {
		return err
	}
	add := func(m map[string]map[string]bool, svc, k string) {
		if m[svc] == nil {
			m[svc] = map[string]bool{}
		}
		m[svc][k] = true
	}
	for _, svc := range p.Services {
		if into.ports[svc.Name] == nil {
			into.ports[svc.Name] = map[int]string{}
		}
		if into.env[svc.Name] == nil {
			into.env[svc.Name] = map[string]bool{}
		}
		if into.files[svc.Name] == nil {
			into.files[svc.Name] = map[string]bool{}
		}
		for k, v := range svc.Environment {
			add(into.env, svc.Name, k)
			if v != nil && strings.HasPrefix(*v, "/run/secrets/") {
				if into.secretRefs[svc.Name] == nil {
					into.secretRefs[svc.Name] = map[string]string{}
				}
				into.secretRefs[svc.Name][*v] = k
			}
		}
		for _, v := range svc.Volumes {
			add(into.files, svc.Name, v.Target)
		}
		for _, tm := range svc.Tmpfs {
			add(into.files, svc.Name, tm)
		}
		for _, cf := range svc.Configs {
			target := cf.Target
			switch {
			case target == "":
				target = "/" + cf.Source
			case !path.IsAbs(target):
				target = "/" + target
			}
			add(into.files, svc.Name, target)
		}
		for _, s := range svc.Secrets {
			target := s.Target
			switch {
			case target == "":
				target = "/run/secrets/" + s.Source
			case !path.IsAbs(target):
				target = "/run/secrets/" + target
			}
			add(into.files, svc.Name, target)
		}
		if hc := svc.HealthCheck; hc != nil {
			for _, m := range healthPortRE.FindAllStringSubmatch(strings.Join(hc.Test, " "), -1) {
				if port, err := strconv.Atoi(m[1]); err == nil {
					if _, ok := into.ports[svc.Name][port]; !ok {
						into.ports[svc.Name][port] = "healthcheck"
					}
				}
			}
		}
		for _, pc := range svc.Ports {
			why := "published"
			if pc.Published != "" {
				why = "published as " + pc.Published + "/" + pc.Protocol
			}
			into.ports[svc.Name][int(pc.Target)] = why
		}
	}
	return nil
}

// healthPortRE finds the ports a healthcheck reaches inside its
// container (127.0.0.1:8080, localhost:3000, [::1]:80).
var healthPortRE = regexp.MustCompile(`(?:127\.0\.0\.1|localhost|\[::1\]):([0-9]{1,5})\b`)

// variants are the inputs a contract is held against: the sample site
// with every app, and that site with each bool option of the app turned
// from its default, so keys set only under an option are covered too.
func variants(c *Catalog, app string, base RenderInput) []RenderInput {
	out := []RenderInput{base}
	a, _ := c.Get(app)
	for _, name := range sortedKeys(a.Options) {
		o := a.Options[name]
		if o.Type != OptBool {
			continue
		}
		def, _ := o.Default.(bool)
		in := base
		in.Components = map[string]site.Component{}
		for k, v := range base.Components {
			in.Components[k] = v
		}
		in.Components[app] = site.Component{Options: map[string]any{name: !def}}
		out = append(out, in)
	}
	return out
}

// TestContract holds every app's stack to its upstream contract
// (templates/apps/<app>/contract.yaml, the format in contract.go): every
// environment key a service sets, every path it mounts or gets a config
// or secret at, and every container port it relies on (the app.yaml port
// and ports, published ports, probe ports, ports its healthcheck reaches on
// 127.0.0.1 or localhost) must be listed with the upstream source
// that reads it. What it cannot show: that the source really reads the
// key; that is the reader's work, recorded by repo, ref and path.
func TestContract(t *testing.T) {
	c := loadCatalog(t)
	base := everything(t, c)
	for _, app := range c.Names() {
		t.Run(app, func(t *testing.T) { checkContract(t, c, app, base) })
	}
}

// checkContract holds one app's rendered stack to its contract.
func checkContract(t *testing.T, c *Catalog, app string, base RenderInput) {
	file := "templates/apps/" + app + "/" + ContractFile
	ct, err := c.Contract(app)
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s: no %s: write it beside the app's templates, listing every environment key, mounted path, port and config key the stack relies on with the upstream file that reads it (format: steps/apps/contract.go)", app, file)
		return
	}
	if err != nil {
		t.Errorf("%s: %v", app, err)
		return
	}
	use := &stackUse{env: map[string]map[string]bool{}, files: map[string]map[string]bool{}, ports: map[string]map[int]string{}, secretRefs: map[string]map[string]string{}}
	rendered := true
	for _, in := range variants(c, app, base) {
		st, err := c.Render(app, in)
		if err != nil {
			t.Errorf("%s: render: %v", app, err)
			rendered = false
			break
		}
		if err := stackUses(t, app, st.Files, use); err != nil {
			t.Errorf("%s: compose-go: %v", app, err)
			rendered = false
			break
		}
	}
	if !rendered {
		return
	}
	a, _ := c.Get(app)
	// Ports the catalog relies on: the main service's port, and the
	// probe's tcp (published: its target) and listen ports.
	need := func(svc string, port int, why string) {
		if svc == "" {
			svc = a.Service
		}
		if use.ports[svc] == nil {
			use.ports[svc] = map[int]string{}
		}
		if _, ok := use.ports[svc][port]; !ok {
			use.ports[svc][port] = why
		}
	}
	if a.Port > 0 {
		need(a.Service, a.Port, "app.yaml port")
	}
	// app.yaml ports: the container ports the edge's stream proxy
	// forwards to, or that the service publishes.
	for _, p := range a.Ports {
		for port := p.Port; port <= p.End(); port++ {
			need(p.ServiceOf(a), p.TargetPort()+port-p.Port, fmt.Sprintf("app.yaml ports: %d/%s", port, p.Protocol))
		}
	}
	if p := a.Probe; p != nil {
		if p.TCP != nil && a.Kind != KindEdge {
			svc := p.TCP.Service
			if svc == "" {
				svc = a.Service
			}
			published := false
			for _, why := range use.ports[svc] {
				published = published || why == "published as "+strconv.Itoa(p.TCP.Port)+"/tcp"
			}
			if !published {
				need(svc, p.TCP.Port, "probe tcp port")
			}
		}
		if p.Listen != nil {
			need(p.Listen.Service, p.Listen.Port, "probe listen port")
		}
	}
	var problems []string
	// A *_FILE variable naming a file no secret or config puts there:
	// the image would read nothing.
	for _, svc := range sortedKeys(use.secretRefs) {
		for _, f := range sortedKeys(use.secretRefs[svc]) {
			if !use.files[svc][f] {
				problems = append(problems, fmt.Sprintf("service %s sets %s=%s, but no secret or config is mounted there: add it to the service's secrets (target %s)", svc, use.secretRefs[svc][f], f, strings.TrimPrefix(f, "/run/secrets/")))
			}
		}
	}
	for _, svc := range sortedKeys(ct.Services) {
		if _, ok := use.env[svc]; !ok {
			problems = append(problems, fmt.Sprintf("the contract names service %q, which the stack does not have (services: %v): rename or remove it in %s", svc, sortedKeys(use.env), file))
		}
	}
	for _, svc := range sortedKeys(use.env) {
		sc, ok := ct.Services[svc]
		if !ok {
			problems = append(problems, fmt.Sprintf("service %s is not in %s: add services.%s with its env, files and ports", svc, file, svc))
			continue
		}
		for _, k := range sortedKeys(use.env[svc]) {
			if _, ok := sc.Env[k]; !ok {
				problems = append(problems, fmt.Sprintf("service %s sets environment key %s, not listed: add services.%s.env.%s with the source that reads it (the image's entrypoint or config loader), or stop setting it", svc, k, svc, k))
			}
		}
		for _, f := range sortedKeys(use.files[svc]) {
			if !sc.ListsFile(f) {
				problems = append(problems, fmt.Sprintf("service %s mounts %s, not listed: add services.%s.files.%q with the source that reads that path, or stop mounting it", svc, f, svc, f))
			}
		}
		ports := use.ports[svc]
		nums := make([]int, 0, len(ports))
		for p := range ports {
			nums = append(nums, p)
		}
		sort.Ints(nums)
		// Unlisted ports, consecutive ones as one range.
		for i := 0; i < len(nums); i++ {
			if sc.ListsPort(nums[i]) {
				continue
			}
			j := i
			for j+1 < len(nums) && nums[j+1] == nums[j]+1 && !sc.ListsPort(nums[j+1]) {
				j++
			}
			key := strconv.Itoa(nums[i])
			if j > i {
				key += "-" + strconv.Itoa(nums[j])
			}
			problems = append(problems, fmt.Sprintf("service %s relies on container port %s (%s), not listed: add services.%s.ports.%q with the source that makes the image listen there", svc, key, ports[nums[i]], svc, key))
			i = j
		}
	}
	for _, p := range problems {
		t.Errorf("%s: %s", app, p)
	}
}

// TestContractFormat checks the loader's refusals: an unknown key, an
// entry without a source or naming none of sources, a source without
// repo, ref or path, a bad port key.
func TestContractFormat(t *testing.T) {
	good := `
sources:
  entrypoint: {repo: https://github.com/x/y, ref: v1.0.0, path: docker-entrypoint.sh}
services:
  app:
    env: {A: {source: entrypoint}}
    files: {/data: {source: entrypoint, note: data}}
    ports: {"80": {source: entrypoint}, "49160-49259/udp": {source: entrypoint}}
    keys: {"config.php: x": {source: entrypoint}}
proven: ""
manual: ""
`
	ct, err := ParseContract("x/contract.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	sc := ct.Services["app"]
	if !sc.ListsPort(80) || !sc.ListsPort(49200) || sc.ListsPort(81) {
		t.Error("ListsPort does not follow the port keys")
	}
	sc.Files["/etc/nginx/conf.d/*.conf"] = Entry{Source: "entrypoint"}
	if !sc.ListsFile("/data") || !sc.ListsFile("/etc/nginx/conf.d/vhost-a.conf") || sc.ListsFile("/etc/nginx/conf.d/sub/x.conf") || sc.ListsFile("/etc/other") {
		t.Error("ListsFile does not follow the file keys and patterns")
	}
	for name, bad := range map[string]string{
		"unknown key":     "sources: {}\nservices: {app: {env: {}}}\nprove: x\n",
		"missing source":  "sources: {}\nservices: {app: {env: {A: {note: x}}}}\n",
		"unknown source":  "sources: {}\nservices: {app: {env: {A: {source: nope}}}}\n",
		"source lacks":    "sources: {e: {repo: https://github.com/x/y, path: a}}\nservices: {app: {env: {A: {source: e}}}}\n",
		"not a repo URL":  "sources: {e: {repo: github.com/x/y, ref: v1, path: a}}\nservices: {app: {env: {A: {source: e}}}}\n",
		"bad port":        "sources: {e: {repo: https://github.com/x/y, ref: v1, path: a}}\nservices: {app: {ports: {\"8o\": {source: e}}}}\n",
		"no services":     "sources: {e: {repo: https://github.com/x/y, ref: v1, path: a}}\n",
		"reversed range":  "sources: {e: {repo: https://github.com/x/y, ref: v1, path: a}}\nservices: {app: {ports: {\"90-80\": {source: e}}}}\n",
		"bad protocol":    "sources: {e: {repo: https://github.com/x/y, ref: v1, path: a}}\nservices: {app: {ports: {\"80/sctp\": {source: e}}}}\n",
		"entry as string": "sources: {e: {repo: https://github.com/x/y, ref: v1, path: a}}\nservices: {app: {env: {A: e}}}\n",
		"relative file":   "sources: {e: {repo: https://github.com/x/y, ref: v1, path: a}}\nservices: {app: {files: {data: {source: e}}}}\n",
		"bad pattern":     "sources: {e: {repo: https://github.com/x/y, ref: v1, path: a}}\nservices: {app: {files: {\"/a/[\": {source: e}}}}\n",
	} {
		if _, err := ParseContract("x/contract.yaml", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
