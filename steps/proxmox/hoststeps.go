package proxmox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	px "github.com/luthermonson/go-proxmox"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/network"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sshkey"
	"github.com/collabstack/collabstack/templates"
)

// Templates of these steps.
const (
	tmplDir       = "proxmox/vms/"
	imagesFile    = tmplDir + "images.yaml"
	vendorFile    = "proxmox/cloud-init/vendor.yaml"
	VendorSnippet = "collabstack-vendor.yaml"
	// DownloadDir keeps the OpenWrt download on the PVE host (a .img.gz
	// is no import volume: each VM's disk is unpacked from it).
	DownloadDir = layout.Root + "/images"
	// HostReserveMB is the memory the PVE host keeps for itself ("2 GB
	// for the OS and Proxmox VE services", PVE system requirements).
	HostReserveMB = 2048
)

// Image is a pinned download.
type Image struct {
	URL  string `yaml:"url"`
	File string `yaml:"file"`
	Algo string `yaml:"algo"` // sha256, sha512
	Sum  string `yaml:"sum"`
}

// Images are the pinned images (templates/proxmox/vms/images.yaml).
type Images struct {
	Debian  Image `yaml:"debian"`
	OpenWrt Image `yaml:"openwrt"`
}

// PinnedImages reads the pinned images.
func PinnedImages() (Images, error) {
	var imgs Images
	if err := templates.ReadYAML(imagesFile, &imgs); err != nil {
		return imgs, err
	}
	for _, im := range []Image{imgs.Debian, imgs.OpenWrt} {
		want := map[string]int{"sha256": 64, "sha512": 128}[im.Algo]
		if im.URL == "" || im.File == "" || want == 0 || len(im.Sum) != want || strings.Trim(im.Sum, "0123456789abcdef") != "" {
			return imgs, fmt.Errorf("%s: %s needs url, file, algo (sha256 or sha512) and its hex sum", imagesFile, im.File)
		}
	}
	return imgs, nil
}

func openWrtDisk(vm string) string { return "collabstack-" + vm + ".raw" }

// tokenStep makes the API user, role, ACL and token over SSH and keeps
// the token's secret; it is done when all exist and the API accepts the
// stored secret (which also pins the API's certificate on first use).
func (x *Set) tokenStep(pveHost string, needs []string) engine.Step {
	// token.sh compares the role's privileges sorted.
	data := map[string]any{"User": UserID, "Role": RoleID, "Privs": strings.Join(slices.Sorted(slices.Values(Privileges)), ","), "TokenName": TokenName,
		"Comment": "collabstack: creates and snapshots the site's VMs"}
	refused := func(ctx context.Context, env *engine.Env) (bool, error) {
		if _, ok := env.Secrets.Get(TokenSecret(pveHost)); !ok {
			return true, nil
		}
		a, err := x.API(env, pveHost)
		if err != nil {
			return false, err
		}
		_, err = a.Version(ctx)
		if px.IsNotAuthorized(err) {
			env.Logf("the API refuses the stored token of %s: making a new one", pveHost)
			return true, nil
		}
		return false, err
	}
	run := func(ctx context.Context, env *engine.Env, mode string, renew bool) (string, error) {
		text, err := script.Render(tmplDir+"token.sh", data)
		if err != nil {
			return "", err
		}
		r := "0"
		if renew {
			r = "1"
		}
		// No Output: stdout carries the token's secret.
		return env.Host.Run(ctx, text, host.RunOpts{Sudo: true, Env: map[string]string{"MODE": mode, "RENEW": r}})
	}
	return &engine.Func{
		StepID: TokenStepID(pveHost), Name: "Give collabstack an API token on " + pveHost, On: pveHost, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			if err := x.prepin(ctx, env, pveHost); err != nil {
				return false, err
			}
			out, err := run(ctx, env, "check", false)
			var ee *host.ExitError
			if errors.As(err, &ee) && ee.Code == script.CheckTodo {
				logTodos(env, out)
				return false, nil
			}
			if err != nil {
				return false, engine.WithHint(fmt.Errorf("check the API user of %s: %w", pveHost, err), "collabstack runs pveum as root on %s", pveHost)
			}
			bad, err := refused(ctx, env)
			return !bad, err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			if err := x.prepin(ctx, env, pveHost); err != nil {
				return err
			}
			renew, err := refused(ctx, env)
			if err != nil {
				return err
			}
			out, err := run(ctx, env, "apply", renew)
			logTodos(env, out)
			if err != nil {
				return engine.WithHint(fmt.Errorf("make the API user and token on %s: %w", pveHost, err), "collabstack runs pveum as root on %s; the message above is pveum's", pveHost)
			}
			if secret := tokenValue(out); secret != "" {
				if err := env.Secrets.Set(TokenSecret(pveHost), secret); err != nil {
					return fmt.Errorf("keep the API token of %s: %w", pveHost, err)
				}
				env.Logf("made the API token %s on %s; its secret is in the secrets file as %s", TokenID, pveHost, TokenSecret(pveHost))
			} else if renew {
				return fmt.Errorf("pveum made no API token on %s", pveHost)
			}
			a, err := x.API(env, pveHost)
			if err != nil {
				return err
			}
			v, err := a.Version(ctx)
			if err != nil {
				return err
			}
			env.Logf("the API of %s (Proxmox VE %s) accepts the token", pveHost, v.Version)
			return nil
		},
	}
}

// certFingerprintCmd prints the SHA-256 fingerprint of the certificate
// pveproxy presents: a custom one when there is one, else the node's.
const certFingerprintCmd = `for f in /etc/pve/local/pveproxy-ssl.pem /etc/pve/local/pve-ssl.pem; do if [ -f "$f" ]; then exec openssl x509 -noout -fingerprint -sha256 -in "$f"; fi; done; exit 1`

// prepin pins the API's certificate from the PVE host's own files, read
// over SSH (whose host key is pinned), before the first API call, so
// even the first connection sends the token only to the real node.
func (x *Set) prepin(ctx context.Context, env *engine.Env, pveHost string) error {
	x.mu.Lock()
	err := x.openPinsLocked()
	x.mu.Unlock()
	if err != nil {
		return err
	}
	rawURL, err := x.apiURL(pveHost, func() string {
		if spec, ok := env.Hosts.Spec(pveHost); ok {
			return spec.Address
		}
		return ""
	})
	if err != nil {
		return err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	addr := apiAddr(u)
	if x.pins.Lookup(pveHost, addr) != "" {
		return nil
	}
	out, err := env.Host.Run(ctx, certFingerprintCmd, host.RunOpts{Sudo: true})
	_, fp, ok := strings.Cut(strings.TrimSpace(out), "=")
	if err != nil || !ok {
		env.Logf("could not read the API certificate of %s over SSH (%v): it is pinned on first use", pveHost, err)
		return nil
	}
	if err := x.pins.Expect(pveHost, addr, fp); err != nil {
		return err
	}
	env.Logf("pinned the API certificate of %s: %s", pveHost, strings.ToUpper(fp))
	return nil
}

// tokenValue finds the secret in pveum's JSON answer
// {"full-tokenid": ..., "info": {...}, "value": "UUID"}.
func tokenValue(out string) string {
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var tok struct {
			FullID string `json:"full-tokenid"`
			Value  string `json:"value"`
		}
		if json.Unmarshal([]byte(line), &tok) == nil && tok.Value != "" {
			return tok.Value
		}
	}
	return ""
}

func logTodos(env *engine.Env, out string) {
	for _, line := range strings.Split(out, "\n") {
		if t, ok := strings.CutPrefix(line, "todo: "); ok {
			env.Logf("%s", t)
		}
	}
}

// bridgesStep makes the bridges the host's VMs join, other than the WAN
// bridge, and gives the host its address on the LAN bridge.
func (x *Set) bridgesStep(pveHost string, vms []site.VM, needs []string) engine.Step {
	var wan, lan string
	if n := x.s.Network; n != nil {
		wan, lan = n.WANBridge, n.LANBridge
	}
	var words []string
	seen := map[string]bool{}
	add := func(b string) {
		if b == "" || b == wan || seen[b] {
			return
		}
		seen[b] = true
		cidr := "-"
		if b == lan {
			if a := x.lanAddress(pveHost); a != "" {
				cidr = a
			}
		}
		words = append(words, b+"="+cidr)
	}
	for _, vm := range vms {
		for _, b := range vm.Bridges {
			add(b)
		}
	}
	if len(vms) > 0 {
		add(lan)
	}
	return script.Step(script.Spec{
		ID: BridgesID(pveHost), Title: "Make the VM bridges on " + pveHost, Host: pveHost, Component: Component, Needs: needs,
		Path: tmplDir + "bridges.sh", Data: script.Fixed(map[string]any{"Bridges": strings.Join(words, " "), "WAN": wan}),
	})
}

// storageStep readies the image storage and writes the vendor snippet.
func (x *Set) storageStep(pveHost string, needs []string) engine.Step {
	return script.Step(script.Spec{
		ID: StorageID(pveHost), Title: "Ready storage " + x.o.ImageStorage + " for VM images on " + pveHost, Host: pveHost, Component: Component, Needs: needs,
		Path: tmplDir + "storage.sh",
		Data: func(context.Context, *engine.Env) (map[string]any, []byte, error) {
			vendor, err := templates.FS.ReadFile(vendorFile)
			if err != nil {
				return nil, nil, err
			}
			return map[string]any{"Storage": x.o.ImageStorage, "Snippet": VendorSnippet, "Vendor": strings.TrimSpace(string(vendor))}, nil, nil
		},
	})
}

// imageStep downloads and verifies the pinned image of a kind.
func (x *Set) imageStep(pveHost, kind string, needs []string) engine.Step {
	return script.Step(script.Spec{
		ID: ImageID(pveHost, kind), Title: fmt.Sprintf("Download the %s image to %s", kind, pveHost), Host: pveHost, Component: Component, Needs: needs,
		Path: tmplDir + "image.sh",
		Data: func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
			imgs, err := PinnedImages()
			if err != nil {
				return nil, nil, err
			}
			im, path := imgs.Debian, ""
			if kind == site.VMOpenWrt {
				im, path = imgs.OpenWrt, DownloadDir+"/"+imgs.OpenWrt.File
			} else {
				out, err := env.Host.Run(ctx, "pvesm path "+host.Quote(x.o.ImageStorage+":import/"+im.File), host.RunOpts{Sudo: true})
				if err != nil {
					return nil, nil, engine.WithHint(fmt.Errorf("find the import folder of storage %s on %s: %w", x.o.ImageStorage, pveHost, err), "the storage step enables content import on it")
				}
				path = strings.TrimSpace(out)
			}
			return map[string]any{"Path": path, "URL": im.URL, "Algo": im.Algo, "Sum": im.Sum}, nil, nil
		},
	})
}

// openWrtImageStep makes one OpenWrt VM's disk with its first-boot
// script; it is done once the VM exists.
func (x *Set) openWrtImageStep(pveHost string, vm site.VM, needs []string) engine.Step {
	inner := script.Step(script.Spec{
		ID: VMStepID(vm.Name, "image"), Title: "Make the disk of " + vm.Name + " with its first-boot script", Host: pveHost, Component: Component, Needs: needs,
		Path: tmplDir + "openwrt.sh",
		Data: func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
			imgs, err := PinnedImages()
			if err != nil {
				return nil, nil, err
			}
			key, err := EnsureKey(KeyPath(x.stateDir))
			if err != nil {
				return nil, nil, err
			}
			pw, err := env.Secrets.Password(network.RootPasswordSecret(vm.Name), 24)
			if err != nil {
				return nil, nil, err
			}
			// The router's host key, in dropbear's format: kept while the
			// state directory keeps it (the image is made again from it).
			if _, err := sshkey.Ensure(HostKeyPath(x.stateDir, vm.Name), ""); err != nil {
				return nil, nil, err
			}
			hostKey, err := sshkey.Dropbear(HostKeyPath(x.stateDir, vm.Name))
			if err != nil {
				return nil, nil, err
			}
			fb, err := network.FirstBoot(x.s, vm.Name, key, pw, network.RouterOptions{DropbearHostKey: hostKey})
			if err != nil {
				return nil, nil, err
			}
			out, err := env.Host.Run(ctx, "pvesm path "+host.Quote(x.o.ImageStorage+":import/"+openWrtDisk(vm.Name)), host.RunOpts{Sudo: true})
			if err != nil {
				return nil, nil, engine.WithHint(fmt.Errorf("find the import folder of storage %s on %s: %w", x.o.ImageStorage, pveHost, err), "the storage step enables content import on it")
			}
			sum := sha256.Sum256(fb)
			return map[string]any{"Gz": DownloadDir + "/" + imgs.OpenWrt.File, "Raw": strings.TrimSpace(out), "Hash": hex.EncodeToString(sum[:])}, fb, nil
		},
	})
	check := inner.CheckFunc
	inner.CheckFunc = func(ctx context.Context, env *engine.Env) (bool, error) {
		a, err := x.API(env, pveHost)
		if err != nil {
			return false, err
		}
		ref, err := a.FindVM(ctx, vm.Name)
		if err != nil || ref != nil {
			return ref != nil, err
		}
		return check(ctx, env)
	}
	return inner
}

// budgetStep checks that the host's VMs fit the node: their memory plus
// what PVE keeps for itself, and each VM's cores. It changes nothing.
func (x *Set) budgetStep(pveHost string, vms []site.VM, needs []string) engine.Step {
	return &engine.Func{
		StepID: BudgetID(pveHost), Name: "Check that the VMs fit " + pveHost, On: pveHost, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			a, err := x.API(env, pveHost)
			if err != nil {
				return false, err
			}
			node, err := a.Node(ctx)
			if err != nil {
				return false, err
			}
			var n *px.Node
			if err := a.do(ctx, "read the resources of node "+node, func(ctx context.Context) error {
				var err error
				n, err = a.client.Node(ctx, node)
				return err
			}); err != nil {
				return false, err
			}
			return true, Budget(pveHost, vms, int(n.Memory.Total>>20), n.CPUInfo.CPUs, env.Logf)
		},
	}
}

// Budget checks that vms fit a node of memMB memory and cpus CPUs (0:
// unknown, not checked).
func Budget(pveHost string, vms []site.VM, memMB, cpus int, logf func(string, ...any)) error {
	want := HostReserveMB
	var names []string
	for _, vm := range vms {
		vm = Sized(vm)
		want += vm.MemoryMB
		names = append(names, fmt.Sprintf("%s %d MB", vm.Name, vm.MemoryMB))
		if cpus > 0 && vm.Cores > cpus {
			return engine.WithHint(fmt.Errorf("VM %s wants %d cores; %s has %d", vm.Name, vm.Cores, pveHost, cpus), "lower proxmox.vms[].cores of %s in the site file", vm.Name)
		}
	}
	if memMB == 0 {
		logf("could not read the memory of %s: not checked", pveHost)
		return nil
	}
	if want > memMB {
		return engine.WithHint(fmt.Errorf("the VMs on %s need %d MB (%s, and %d MB for Proxmox VE itself); the node has %d MB", pveHost, want, strings.Join(names, ", "), HostReserveMB, memMB),
			"lower proxmox.vms[].memory_mb in the site file, or move VMs to another PVE host")
	}
	logf("%s: the VMs need %d of %d MB (with %d MB for Proxmox VE)", pveHost, want, memMB, HostReserveMB)
	return nil
}
