package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
)

// docker runs the docker CLI on the host that has dockerd.
type docker struct {
	h    host.Host
	sudo bool
	out  func(string)
}

// hintNoDocker says how to get a local dockerd.
const hintNoDocker = "the lab needs a running dockerd on this machine: `apt-get install docker.io && systemctl start docker` (or, without systemd, `dockerd > /var/log/dockerd.log 2>&1 &`), then run the command again"

// connect finds a dockerd that answers, through sudo when the user may not
// use the socket directly.
func connect(ctx context.Context, h host.Host, out func(string)) (*docker, error) {
	d := &docker{h: h, out: out}
	_, err := d.run(ctx, "version", "--format", "{{.Server.Version}}")
	if err == nil {
		return d, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if strings.Contains(err.Error(), "permission denied") {
		d.sudo = true
		if _, err2 := d.run(ctx, "version", "--format", "{{.Server.Version}}"); err2 == nil {
			return d, nil
		}
	}
	var ee *host.ExitError
	if errors.As(err, &ee) && ee.Code == 127 {
		return nil, engine.WithHint(fmt.Errorf("run docker on %s: the docker command is not installed", h.Name()), hintNoDocker)
	}
	return nil, engine.WithHint(fmt.Errorf("reach dockerd on %s: %w", h.Name(), err), hintNoDocker)
}

// run runs `docker args...` and returns stdout.
func (d *docker) run(ctx context.Context, args ...string) (string, error) {
	return d.runOpts(ctx, host.RunOpts{}, args...)
}

// stream is run with the output sent to the log as it comes.
func (d *docker) stream(ctx context.Context, args ...string) (string, error) {
	return d.runOpts(ctx, host.RunOpts{Output: d.out}, args...)
}

func (d *docker) runOpts(ctx context.Context, opts host.RunOpts, args ...string) (string, error) {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = host.Quote(a)
	}
	opts.Sudo = d.sudo
	out, err := d.h.Run(ctx, "docker "+strings.Join(q, " "), opts)
	return strings.TrimSpace(out), err
}

// exists reports whether `docker <kind> inspect name` finds it.
func (d *docker) exists(ctx context.Context, kind, name string) (bool, error) {
	_, err := d.run(ctx, kind, "inspect", "--format", "ok", name)
	if err == nil {
		return true, nil
	}
	var ee *host.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		if s := strings.ToLower(ee.Stderr); strings.Contains(s, "no such") || strings.Contains(s, "not found") {
			return false, nil
		}
	}
	return false, fmt.Errorf("look for %s %s: %w", kind, name, err)
}

// container is the part of `docker inspect` the lab reads.
type container struct {
	Name  string
	Image string
	State struct {
		Running bool
		Status  string
	}
	Config struct {
		Image  string
		Labels map[string]string
	}
	NetworkSettings struct {
		Networks map[string]struct {
			IPAddress string
		}
	}
}

// inspect returns a container, or nil when there is none of that name.
func (d *docker) inspect(ctx context.Context, name string) (*container, error) {
	ok, err := d.exists(ctx, "container", name)
	if err != nil || !ok {
		return nil, err
	}
	out, err := d.run(ctx, "container", "inspect", "--format", "{{json .}}", name)
	if err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", name, err)
	}
	var c container
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		return nil, fmt.Errorf("inspect container %s: %w", name, err)
	}
	return &c, nil
}

// list returns the names of the objects of a kind carrying a label.
func (d *docker) list(ctx context.Context, kind, label string) ([]string, error) {
	var args []string
	switch kind {
	case "container":
		args = []string{"ps", "-a", "--filter", "label=" + label, "--format", "{{.Names}}"}
	case "volume":
		args = []string{"volume", "ls", "--filter", "label=" + label, "--format", "{{.Name}}"}
	case "network":
		args = []string{"network", "ls", "--filter", "label=" + label, "--format", "{{.Name}}"}
	}
	out, err := d.run(ctx, args...)
	if err != nil {
		return nil, fmt.Errorf("list lab %ss: %w", kind, err)
	}
	return strings.Fields(out), nil
}
