package images

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
)

// RegistryRef is ref's name in the site's registry: the repository path
// and tag, without any registry host ("kp/app:1" → "10.0.0.2:5000/kp/app:1").
func RegistryRef(registry, ref string) string {
	r := ref
	if i := strings.Index(r, "/"); i > 0 {
		if first := r[:i]; strings.ContainsAny(first, ".:") || first == "localhost" {
			r = r[i+1:]
		}
	}
	if !strings.Contains(r[strings.LastIndex(r, "/")+1:], ":") && !strings.Contains(r, "@") {
		r += ":latest"
	}
	return registry + "/" + r
}

// Push copies images built on this machine (local) into the site's
// registry through its manager (mgr, logged in to registry): docker save
// here, docker load and push there. It returns the names to use in
// stacks; every node can pull them.
func Push(ctx context.Context, local, mgr host.Host, registry string, refs []string, out func(string)) ([]string, error) {
	if len(refs) == 0 {
		return nil, fmt.Errorf("name the images to push")
	}
	say := func(format string, args ...any) {
		if out != nil {
			out(fmt.Sprintf(format, args...))
		}
	}
	for _, r := range refs {
		if _, err := local.Run(ctx, "docker image inspect --format ok "+host.Quote(r), host.RunOpts{}); err != nil {
			return nil, engine.WithHint(fmt.Errorf("image %s is not on this machine: %w", r, err), "build or pull it here first (`docker images` lists what is here)")
		}
	}
	dir, err := os.MkdirTemp("", "collabstack-push-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	tar := filepath.Join(dir, "images.tar")
	say("saving %d images here", len(refs))
	if err := dockerSave(ctx, local, tar, refs, nil); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(tar)
	if err != nil {
		return nil, err
	}
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	remote := BundleDir + "/push-" + hex.EncodeToString(id[:]) + ".tar"
	say("copying %d MB to %s", len(data)>>20, mgr.Name())
	if err := mgr.Upload(ctx, remote, data, 0o600, "root"); err != nil {
		return nil, fmt.Errorf("copy the images to %s: %w", mgr.Name(), err)
	}
	_, err = mgr.Run(ctx, "docker load -i "+host.Quote(remote), host.RunOpts{Sudo: true, Output: out})
	mgr.Run(ctx, "rm -f "+host.Quote(remote), host.RunOpts{Sudo: true})
	if err != nil {
		return nil, engine.WithHint(fmt.Errorf("load the images on %s: %w", mgr.Name(), err), "check free disk space on %s (`df -h /var/lib/docker`)", mgr.Name())
	}
	var pushed []string
	for _, r := range refs {
		to := RegistryRef(registry, r)
		if _, err := mgr.Run(ctx, "docker tag "+host.Quote(r)+" "+host.Quote(to)+" && docker push "+host.Quote(to), host.RunOpts{Sudo: true, Output: out}); err != nil {
			return pushed, engine.WithHint(fmt.Errorf("push %s: %w", to, err), "run apply first: it starts the registry and logs the manager in to it")
		}
		say("pushed %s", to)
		pushed = append(pushed, to)
	}
	return pushed, nil
}
