// Package images gets the images a site needs onto its hosts by the site's
// image source: pulled by dockerd (the default, nothing to do here), from a
// registry mirror set in dockerd's daemon.json, or from an offline bundle
// made by `collabstack images save` and loaded on every host.
package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/site"
)

// Component is the --only name of these steps.
const Component = "images"

// BundleDir is where a host keeps what it loaded.
const BundleDir = layout.Root + "/images"

// DaemonJSON is dockerd's configuration file.
const DaemonJSON = "/etc/docker/daemon.json"

// ID is a step's ID: "images/bundle/lab-1".
func ID(what, hostName string) string { return "images/" + what + "/" + hostName }

// Steps returns the steps that make the site's image source work on a
// host, after the step `after` (the host's Docker install). With source
// pull there are none.
func Steps(s *site.Site, siteDir, hostName string, after ...string) []engine.Step {
	switch s.Images.Source {
	case site.ImagesMirror:
		return []engine.Step{mirrorStep(s.Images.Mirror, hostName, after)}
	case site.ImagesBundle:
		bundle := s.Images.Bundle
		if !filepath.IsAbs(bundle) {
			bundle = filepath.Join(siteDir, bundle)
		}
		return []engine.Step{bundleStep(bundle, hostName, after)}
	}
	return nil
}

func bundleStep(bundle, hostName string, after []string) engine.Step {
	var sum string
	digest := func() (string, error) {
		if sum != "" {
			return sum, nil
		}
		s, err := fileSHA256(bundle)
		if err != nil {
			return "", engine.WithHint(fmt.Errorf("read the image bundle: %w", err), "make it with `collabstack images save --config FILE -o %s` on a machine that can pull, or fix images.bundle", bundle)
		}
		sum = s
		return sum, nil
	}
	marker := func(d string) string { return BundleDir + "/" + d + ".loaded" }
	return &engine.Func{
		StepID: ID("bundle", hostName), Name: "Load the offline image bundle on " + hostName, On: hostName, Needs: after, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			d, err := digest()
			if err != nil {
				return false, err
			}
			_, err = env.Host.ReadFile(ctx, marker(d))
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			return err == nil, err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			d, err := digest()
			if err != nil {
				return err
			}
			data, err := os.ReadFile(bundle)
			if err != nil {
				return fmt.Errorf("read the image bundle %s: %w", bundle, err)
			}
			tmp := BundleDir + "/bundle-" + d[:12] + ".tar"
			env.Logf("uploading %s (%d MB) to %s", filepath.Base(bundle), len(data)>>20, hostName)
			if err := env.Host.Upload(ctx, tmp, data, 0o600, "root"); err != nil {
				return fmt.Errorf("upload the image bundle to %s: %w", hostName, err)
			}
			if _, err := env.Sudo(ctx, "docker load -i "+host.Quote(tmp)+" && rm -f "+host.Quote(tmp)); err != nil {
				return engine.WithHint(fmt.Errorf("load the image bundle on %s: %w", hostName, err), "check free disk space on %s (`df -h /var/lib/docker`)", hostName)
			}
			return env.Host.Upload(ctx, marker(d), []byte(filepath.Base(bundle)+"\n"), 0o644, "root")
		},
	}
}

func mirrorStep(mirror, hostName string, after []string) engine.Step {
	url := mirror
	if !strings.Contains(url, "://") {
		url = "https://" + url
	}
	return &engine.Func{
		StepID: ID("mirror", hostName), Name: "Pull images through the mirror " + mirror + " on " + hostName, On: hostName, Needs: after, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			cfg, err := readDaemonJSON(ctx, env.Host)
			if err != nil {
				return false, err
			}
			return hasMirror(cfg, url), nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			cfg, err := readDaemonJSON(ctx, env.Host)
			if err != nil {
				return err
			}
			data, err := withMirror(cfg, url)
			if err != nil {
				return err
			}
			if err := env.Host.Upload(ctx, DaemonJSON, data, 0o644, "root"); err != nil {
				return fmt.Errorf("write %s on %s: %w", DaemonJSON, hostName, err)
			}
			// Running containers survive when live-restore is on; the
			// swarm is set up after this step, so none run yet anyway.
			if _, err := env.Sudo(ctx, "systemctl restart docker && docker info --format '{{.RegistryConfig.Mirrors}}'"); err != nil {
				return engine.WithHint(fmt.Errorf("restart dockerd on %s with the mirror: %w", hostName, err), "see `journalctl -u docker` on %s; the previous %s is in the journal of this step", hostName, DaemonJSON)
			}
			return nil
		},
	}
}

func readDaemonJSON(ctx context.Context, h host.Host) (map[string]any, error) {
	data, err := h.ReadFile(ctx, DaemonJSON)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", DaemonJSON, h.Name(), err)
	}
	cfg := map[string]any{}
	if len(strings.TrimSpace(string(data))) == 0 {
		return cfg, nil
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, engine.WithHint(fmt.Errorf("%s on %s is not valid JSON: %w", DaemonJSON, h.Name(), err), "fix or remove it by hand; collabstack does not overwrite a file it cannot read")
	}
	return cfg, nil
}

func hasMirror(cfg map[string]any, url string) bool {
	list, _ := cfg["registry-mirrors"].([]any)
	for _, m := range list {
		if m == url {
			return true
		}
	}
	return false
}

// withMirror returns daemon.json with url added to registry-mirrors,
// keeping every other setting.
func withMirror(cfg map[string]any, url string) ([]byte, error) {
	list, _ := cfg["registry-mirrors"].([]any)
	cfg["registry-mirrors"] = append(list, url)
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Save writes refs into a bundle at path with the docker of h, pulling
// those it lacks first. It names every image it cannot get.
func Save(ctx context.Context, h host.Host, refs []string, path string, out func(string)) error {
	if len(refs) == 0 {
		return errors.New("no images to save: the site has no components with images")
	}
	var missing []string
	for _, r := range refs {
		if _, err := h.Run(ctx, "docker image inspect --format ok "+host.Quote(r), host.RunOpts{}); err == nil {
			continue
		}
		if out != nil {
			out("pulling " + r)
		}
		if _, err := h.Run(ctx, "docker pull "+host.Quote(r), host.RunOpts{Output: out}); err != nil {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return engine.WithHint(fmt.Errorf("cannot get %d images: %s", len(missing), strings.Join(missing, ", ")), "run `collabstack images save` on a machine that reaches their registry, or `docker load` them here first")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if out != nil {
		out(fmt.Sprintf("saving %d images to %s", len(refs), abs))
	}
	if err := dockerSave(ctx, h, abs, refs, out); err != nil {
		return err
	}
	return os.Chmod(abs, 0o644)
}

// dockerSave writes refs into the tar file path with the docker of h.
func dockerSave(ctx context.Context, h host.Host, path string, refs []string, out func(string)) error {
	args := []string{"docker", "save", "-o", host.Quote(path)}
	for _, r := range refs {
		args = append(args, host.Quote(r))
	}
	if _, err := h.Run(ctx, strings.Join(args, " "), host.RunOpts{Output: out}); err != nil {
		return fmt.Errorf("save the images: %w", err)
	}
	return nil
}
