package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/templates"
)

// ImageRepo is the repository of the images the lab builds.
const ImageRepo = "collabstack-lab"

// bakePrefix starts the name of the temporary container that adds docker.io.
const bakePrefix = "collabstack-lab-bake-"

// include is what debootstrap adds to minbase: enough to boot like a
// server and be reached and prepared over SSH.
const include = "systemd,systemd-sysv,dbus,openssh-server,iproute2,ca-certificates,curl,sudo,python3"

// recipe is the rendered build of the lab images and their tags, each
// carrying a hash of what builds it, so a changed recipe builds anew.
type recipe struct {
	rootfs    string // script that debootstraps and imports the base image
	bake      string // script that adds docker.io
	baseTag   string
	dockerTag string
}

func newRecipe(mirror string) (recipe, error) {
	if mirror == "" {
		mirror = DefaultMirror
	}
	security := DefaultSecurityMirror
	if mirror != DefaultMirror {
		security = strings.TrimSuffix(mirror, "/") + "-security"
	}
	bake, err := templates.FS.ReadFile("lab/docker.sh")
	if err != nil {
		return recipe{}, fmt.Errorf("read the lab image recipe: %w", err)
	}
	data := map[string]string{
		"Suite": Suite, "Include": include, "Mirror": mirror, "SecurityMirror": security,
		"Tag": ImageRepo + ":base-HASH",
	}
	// The tag is in the script; hash the script with a placeholder tag.
	draft, err := render("lab/rootfs.sh", data)
	if err != nil {
		return recipe{}, err
	}
	base := shortHash(draft)
	data["Tag"] = ImageRepo + ":base-" + base
	rootfs, err := render("lab/rootfs.sh", data)
	if err != nil {
		return recipe{}, err
	}
	return recipe{
		rootfs:    rootfs,
		bake:      string(bake),
		baseTag:   data["Tag"],
		dockerTag: ImageRepo + ":docker-" + shortHash(base+"\x00"+string(bake)),
	}, nil
}

// imageTag is the image the nodes run for opts.Image.
func (r recipe) imageTag(image string) string {
	switch image {
	case "", ImageBase:
		return r.baseTag
	case ImageDocker:
		return r.dockerTag
	default:
		return image
	}
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:12]
}

func render(name string, data any) (string, error) {
	b, err := templates.Render(name, data, nil)
	return string(b), err
}

// imageReady reports whether the image the nodes run is in dockerd.
func imageReady(ctx context.Context, d *docker, r recipe, image string) (bool, error) {
	return d.exists(ctx, "image", r.imageTag(image))
}

// ensureImage builds the base image (debootstrap, then docker import) and,
// for ImageDocker, the variant with docker.io, unless dockerd has them.
func ensureImage(ctx context.Context, d *docker, r recipe, image string, logf func(string, ...any)) error {
	switch image {
	case "", ImageBase, ImageDocker:
	default:
		ok, err := d.exists(ctx, "image", image)
		if err != nil {
			return err
		}
		if !ok {
			return engine.WithHint(fmt.Errorf("lab image %s is not in the local dockerd", image), "load or build it first (it must boot /sbin/init and run sshd), or remove lab.image from the site file to use collabstack's own")
		}
		return nil
	}
	ok, err := d.exists(ctx, "image", r.baseTag)
	if err != nil {
		return err
	}
	if !ok {
		start := time.Now()
		logf("building the lab image %s with debootstrap (about a minute or two, once)", r.baseTag)
		if _, err := d.h.Run(ctx, "command -v debootstrap", host.RunOpts{}); err != nil {
			return engine.WithHint(fmt.Errorf("build the lab image: debootstrap is not installed on %s", d.h.Name()), "install it: apt-get install debootstrap")
		}
		if _, err := d.h.Run(ctx, r.rootfs, host.RunOpts{Sudo: true, Output: d.out}); err != nil {
			return engine.WithHint(fmt.Errorf("build the lab image %s: %w", r.baseTag, err), "check that this machine reaches the Debian mirror (%s) and has 1 GB free in /var/tmp; the output above shows the failing command", DefaultMirror)
		}
		logf("built %s in %s", r.baseTag, time.Since(start).Round(time.Second))
	}
	if image != ImageDocker {
		return nil
	}
	ok, err = d.exists(ctx, "image", r.dockerTag)
	if err != nil || ok {
		return err
	}
	// One build at a time on this machine: two labs (two test packages,
	// or two sites) starting together wait for the first build instead of
	// baking the same image twice, and the clean-up below cannot remove
	// another build's container while it is only created (which killed
	// that build with 137).
	unlock, err := lockFile(ctx, filepath.Join(os.TempDir(), "collabstack-lab-image.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err = d.exists(ctx, "image", r.dockerTag); err != nil || ok {
		return err
	}
	start := time.Now()
	logf("building %s: %s with docker.io", r.dockerTag, r.baseTag)
	// Leftovers of interrupted builds go (no other build runs now).
	for _, status := range []string{"exited", "created"} {
		if old, _ := d.run(ctx, "ps", "-aq", "--filter", "name="+bakePrefix, "--filter", "status="+status); old != "" {
			d.run(ctx, append([]string{"rm", "-f"}, strings.Fields(old)...)...)
		}
	}
	bakeName := fmt.Sprintf("%s%d", bakePrefix, time.Now().UnixNano())
	if _, err := d.stream(ctx, "run", "--name", bakeName, r.baseTag, "/bin/sh", "-c", r.bake); err != nil {
		d.run(context.WithoutCancel(ctx), "rm", "-f", bakeName)
		return engine.WithHint(fmt.Errorf("build the lab image %s: %w", r.dockerTag, err), "check that containers on the default docker network reach the Debian mirror")
	}
	_, err = d.run(ctx, "commit", "--change", `CMD ["/sbin/init"]`, bakeName, r.dockerTag)
	d.run(context.WithoutCancel(ctx), "rm", "-f", bakeName)
	if err != nil {
		return fmt.Errorf("save the lab image %s: %w", r.dockerTag, err)
	}
	logf("built %s in %s", r.dockerTag, time.Since(start).Round(time.Second))
	return nil
}

// BaseImage builds (once) the lab's bare Debian image and returns its tag;
// the stand-in images start from it.
func BaseImage(ctx context.Context, opts Options) (string, error) {
	opts = opts.withDefaults()
	d, err := connect(ctx, opts.Host, opts.Out)
	if err != nil {
		return "", err
	}
	r, err := newRecipe(opts.Mirror)
	if err != nil {
		return "", err
	}
	return r.baseTag, ensureImage(ctx, d, r, ImageBase, opts.logf)
}

// lockFile takes an exclusive lock on path (made when missing), waiting
// for it as long as ctx allows; the returned function releases it.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
