// Package standins builds stand-in images for tests and offline labs:
// Docker Hub is out of reach there, so each image the templates name is
// replaced by one built from Debian packages on top of the lab's base
// image (made with debootstrap; there is no base image to pull), tagged
// with the exact names the stack templates use.
//
// Each folder holds a Dockerfile (ARG BASE; FROM ${BASE}), the files it
// copies, `tags` (the names it is tagged with by default) and `repos` (the
// image repositories it stands in for, so any tag of those can be asked).
// Stand-ins are not the real thing: they are printed as such whenever
// they are loaded, and are never used unless asked for.
package standins

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
)

//go:embed */*
var files embed.FS

// Repo is the repository of the built stand-ins (collabstack-standin/postgres:<hash>).
const Repo = "collabstack-standin"

// Options tune Build and Load.
type Options struct {
	// Host runs docker (default: this machine).
	Host host.Host
	// Out receives progress lines.
	Out func(string)
	// Lab tunes the base image build (mirror); only its Mirror is used.
	Lab lab.Options
}

func (o Options) withDefaults() Options {
	if o.Host == nil {
		o.Host = host.NewLocal("local")
	}
	return o
}

func (o Options) logf(format string, args ...any) {
	if o.Out != nil {
		o.Out(fmt.Sprintf(format, args...))
	}
}

// Image is a built stand-in and the names it carries.
type Image struct {
	Name string   // postgres
	ID   string   // collabstack-standin/postgres:<hash>
	Tags []string // postgres:16 ...
}

// Names lists the stand-ins.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func lines(name, file string) []string {
	data, _ := files.ReadFile(path.Join(name, file))
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// Tags are the names a stand-in is tagged with by default.
func Tags(name string) []string { return lines(name, "tags") }

// repository returns an image reference's repository without registry
// docker.io and namespace library: "postgres", "portainer/agent".
func repository(ref string) string {
	r := ref
	if i := strings.LastIndex(r, "@"); i >= 0 {
		r = r[:i]
	}
	if i := strings.LastIndex(r, ":"); i > strings.LastIndex(r, "/") {
		r = r[:i]
	}
	r = strings.TrimPrefix(r, "docker.io/")
	r = strings.TrimPrefix(r, "library/")
	return r
}

// ForImage returns the stand-in for an image reference ("postgres:16",
// "docker.io/portainer/agent:lts"), if there is one.
func ForImage(ref string) (string, bool) {
	repo := repository(ref)
	for _, n := range Names() {
		for _, r := range lines(n, "repos") {
			if r == repo {
				return n, true
			}
		}
	}
	return "", false
}

// Missing returns the image references no stand-in covers.
func Missing(refs []string) []string {
	var out []string
	for _, r := range refs {
		if _, ok := ForImage(r); !ok {
			out = append(out, r)
		}
	}
	return out
}

// context returns the build context of a stand-in as a tar, and a hash of
// it together with the base image, so a changed stand-in builds anew.
func buildContext(name, base string) ([]byte, string, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	h := sha256.New()
	h.Write([]byte(base))
	entries, err := fs.ReadDir(files, name)
	if err != nil {
		return nil, "", fmt.Errorf("stand-in %s: %w", name, err)
	}
	for _, e := range entries {
		data, err := files.ReadFile(path.Join(name, e.Name()))
		if err != nil {
			return nil, "", err
		}
		mode := int64(0o644)
		if strings.HasSuffix(e.Name(), ".sh") || strings.HasSuffix(e.Name(), ".py") {
			mode = 0o755
		}
		fmt.Fprintf(h, "\x00%s\x00%o\x00", e.Name(), mode)
		h.Write(data)
		if err := tw.WriteHeader(&tar.Header{Name: e.Name(), Mode: mode, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return nil, "", err
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), hex.EncodeToString(h.Sum(nil))[:12], nil
}

func docker(ctx context.Context, o Options, opts host.RunOpts, args ...string) (string, error) {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = host.Quote(a)
	}
	out, err := o.Host.Run(ctx, "DOCKER_BUILDKIT=0 docker "+strings.Join(q, " "), opts)
	return strings.TrimSpace(out), err
}

// Build builds stand-ins (once; a stand-in whose files have not changed is
// only re-tagged). Each of what may be a stand-in name ("postgres") or an
// image reference ("postgres:16"), which is then added to the tags of its
// stand-in; none builds them all.
func Build(ctx context.Context, o Options, what ...string) ([]Image, error) {
	o = o.withDefaults()
	want := map[string][]string{}
	var order []string
	add := func(name string, tags ...string) {
		if _, ok := want[name]; !ok {
			order = append(order, name)
			want[name] = Tags(name)
		}
		for _, t := range tags {
			if !contains(want[name], t) {
				want[name] = append(want[name], t)
			}
		}
	}
	if len(what) == 0 {
		what = Names()
	}
	for _, w := range what {
		if contains(Names(), w) {
			add(w)
			continue
		}
		name, ok := ForImage(w)
		if !ok {
			return nil, engine.WithHint(fmt.Errorf("no stand-in for image %s", w), "the stand-ins are %s; add a folder under assets/standins/ for it", strings.Join(Names(), ", "))
		}
		add(name, w)
	}
	lo := o.Lab
	lo.Host, lo.Out = o.Host, o.Out
	base, err := lab.BaseImage(ctx, lo)
	if err != nil {
		return nil, fmt.Errorf("stand-ins need the lab base image: %w", err)
	}
	// Stand-ins build in parallel (at most buildsAtOnce): most of a build
	// is waiting on the Debian mirror or npm, not on the cores. Their
	// progress lines go out one at a time.
	o.Out = syncOut(o.Out)
	out := make([]Image, len(order))
	errs := make([]error, len(order))
	sem := make(chan struct{}, buildsAtOnce)
	var wg sync.WaitGroup
	for i, name := range order {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[i], errs[i] = buildOne(ctx, o, name, base, want[name])
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// buildsAtOnce is how many stand-ins build at the same time.
const buildsAtOnce = 3

// buildOne builds one stand-in unless an image of the same files is there,
// and tags it.
func buildOne(ctx context.Context, o Options, name, base string, tags []string) (Image, error) {
	tarball, hash, err := buildContext(name, base)
	if err != nil {
		return Image{}, err
	}
	img := Image{Name: name, ID: Repo + "/" + name + ":" + hash, Tags: tags}
	if _, err := docker(ctx, o, host.RunOpts{}, "image", "inspect", "--format", "ok", img.ID); err != nil {
		start := time.Now()
		o.logf("building stand-in %s (%s)", name, img.ID)
		args := []string{"build", "-q", "--build-arg", "BASE=" + base}
		if usesLocalCAs(name) {
			args = append(args, "--build-arg", "LOCAL_CA_CERTS="+localCAs(ctx, o))
		}
		args = append(args, "-t", img.ID, "-")
		if _, err := docker(ctx, o, host.RunOpts{Stdin: tarball, Output: o.Out}, args...); err != nil {
			return Image{}, engine.WithHint(fmt.Errorf("build stand-in %s: %w", name, err), "check that containers reach the Debian mirror; the build output above shows the failing step")
		}
		o.logf("built stand-in %s in %s", name, time.Since(start).Round(time.Second))
	}
	for _, t := range img.Tags {
		if _, err := docker(ctx, o, host.RunOpts{}, "tag", img.ID, t); err != nil {
			return Image{}, fmt.Errorf("tag stand-in %s as %s: %w", name, t, err)
		}
	}
	return img, nil
}

// usesLocalCAs reports whether a stand-in's Dockerfile takes the build
// host's own CA certificates (ARG LOCAL_CA_CERTS): those that fetch over
// HTTPS (npm) behind a TLS-inspecting proxy the host trusts.
func usesLocalCAs(name string) bool {
	data, _ := files.ReadFile(path.Join(name, "Dockerfile"))
	return strings.Contains(string(data), "ARG LOCAL_CA_CERTS")
}

// localCAs returns the CA certificates added on the docker host
// (/usr/local/share/ca-certificates/*.crt, Debian's place for them), or
// nothing. They are public certificates, used during the build only and
// not part of the image's hash.
func localCAs(ctx context.Context, o Options) string {
	out, _ := o.Host.Run(ctx, "cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true", host.RunOpts{})
	return strings.TrimSpace(out)
}

// Load copies stand-ins into containers that run their own dockerd (lab
// nodes): docker save | docker exec -i NODE docker load. It says that
// stand-ins are in use.
func Load(ctx context.Context, o Options, containers []string, images []Image) error {
	o = o.withDefaults()
	var tags []string
	for _, img := range images {
		tags = append(tags, img.Tags...)
	}
	if len(tags) == 0 {
		return nil
	}
	q := make([]string, len(tags))
	for i, t := range tags {
		q[i] = host.Quote(t)
	}
	for _, c := range containers {
		o.logf("STAND-INS IN USE on %s: %s are built from Debian packages, not the real images (Docker Hub is out of reach)", c, strings.Join(tags, ", "))
		cmd := "docker save " + strings.Join(q, " ") + " | docker exec -i " + host.Quote(c) + " docker load -q"
		if _, err := o.Host.Run(ctx, cmd, host.RunOpts{Output: o.Out}); err != nil {
			return engine.WithHint(fmt.Errorf("load stand-ins into %s: %w", c, err), "the node's dockerd must run: docker exec %s systemctl status docker", c)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
