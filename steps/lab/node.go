package lab

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
)

// RunFlags returns the docker run flags of a lab node, between the name
// options and the image: what systemd and a nested dockerd need without
// --privileged. The /var/lib/docker volume gives the nested dockerd a
// real file system, so it uses overlay2. SIGRTMIN+3 asks systemd to halt,
// so `docker stop` shuts a node down cleanly, nested containers first.
// SYS_PTRACE lets the nested dockerd exec into containers whose first
// process dropped root (redis, mariadb...): joining their namespaces
// needs it, as on any real server.
func RunFlags() []string {
	return []string{
		"--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_PTRACE",
		"--security-opt", "apparmor=unconfined", "--security-opt", "seccomp=unconfined",
		"--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
		"--tmpfs", "/run", "--tmpfs", "/run/lock",
		"--stop-signal", "SIGRTMIN+3",
	}
}

// ensureNetwork creates the lab network unless it exists.
func ensureNetwork(ctx context.Context, d *docker, o Options) error {
	ok, err := networkReady(ctx, d, o)
	if err != nil || ok {
		return err
	}
	args := []string{"network", "create", "--label", labelLab + "=" + o.Network}
	if o.Subnet != "" {
		args = append(args, "--subnet", o.Subnet)
	}
	args = append(args, o.Network)
	if _, err := d.run(ctx, args...); err != nil {
		return engine.WithHint(fmt.Errorf("create the lab network %s: %w", o.Network, err), "if the subnet overlaps another network, pick a free one in lab.subnet (docker network ls; docker network inspect NAME)")
	}
	o.logf("created docker network %s", o.Network)
	return nil
}

// networkReady reports whether the lab network exists with the subnet asked.
func networkReady(ctx context.Context, d *docker, o Options) (bool, error) {
	ok, err := d.exists(ctx, "network", o.Network)
	if err != nil || !ok {
		return false, err
	}
	if o.Subnet == "" {
		return true, nil
	}
	got, err := d.run(ctx, "network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", o.Network)
	if err != nil {
		return false, fmt.Errorf("inspect network %s: %w", o.Network, err)
	}
	for _, s := range strings.Fields(got) {
		if s == o.Subnet {
			return true, nil
		}
	}
	return false, engine.WithHint(fmt.Errorf("docker network %s exists with subnet %q, not %s", o.Network, got, o.Subnet), "run `collabstack lab down` to remove the old lab, or set lab.network to another name")
}

// fixedIP is node i's address when the lab has its own subnet.
func fixedIP(subnet string, i int) (string, error) {
	if subnet == "" {
		return "", nil
	}
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return "", fmt.Errorf("lab subnet %q: %w", subnet, err)
	}
	a := p.Masked().Addr()
	for n := 0; n < 10+i; n++ {
		a = a.Next()
	}
	if !p.Contains(a) {
		return "", fmt.Errorf("lab subnet %s is too small for %d nodes: use a /24", subnet, i)
	}
	return a.String(), nil
}

// nodeState reads node i; nil when its container does not exist.
func nodeState(ctx context.Context, d *docker, o Options, i int) (*Node, error) {
	c, err := d.inspect(ctx, containerName(o.Network, i))
	if err != nil || c == nil {
		return nil, err
	}
	role, labels := RoleOf(i)
	n := &Node{Name: NodeName(i), Container: containerName(o.Network, i), Running: c.State.Running, Role: role, Labels: labels}
	if nw, ok := c.NetworkSettings.Networks[o.Network]; ok {
		n.Address = nw.IPAddress
	}
	return n, nil
}

// ensureNode creates and starts node i, or starts it when it was stopped.
func ensureNode(ctx context.Context, d *docker, o Options, r recipe, i int) (*Node, error) {
	n, err := nodeState(ctx, d, o, i)
	if err != nil {
		return nil, err
	}
	name := containerName(o.Network, i)
	if n != nil && n.Running {
		return n, nil
	}
	if n != nil {
		o.logf("starting %s (container %s)", n.Name, name)
		if _, err := d.run(ctx, "start", name); err != nil {
			return nil, engine.WithHint(fmt.Errorf("start lab node %s: %w", n.Name, err), "see `docker logs %s`; `collabstack lab down` and up again makes it anew", name)
		}
		return nodeState(ctx, d, o, i)
	}

	authorized, err := ensureKey(KeyPath(o.StateDir), "collabstack-lab")
	if err != nil {
		return nil, err
	}
	if _, err := ensureKey(hostKeyPath(o.StateDir, NodeName(i)), "root@"+NodeName(i)); err != nil {
		return nil, err
	}
	files, err := nodeFiles(o.StateDir, NodeName(i), authorized)
	if err != nil {
		return nil, err
	}
	ip, err := fixedIP(o.Subnet, i)
	if err != nil {
		return nil, err
	}
	vol := volumeName(o.Network, i)
	if _, err := d.run(ctx, "volume", "create", "--label", labelLab+"="+o.Network, vol); err != nil {
		return nil, fmt.Errorf("create volume %s for lab node %s: %w", vol, NodeName(i), err)
	}
	args := []string{"create", "--name", name, "--hostname", NodeName(i), "--network", o.Network,
		"--label", labelLab + "=" + o.Network, "--label", labelNode + "=" + NodeName(i)}
	if ip != "" {
		args = append(args, "--ip", ip)
	}
	args = append(args, RunFlags()...)
	args = append(args, "-v", vol+":/var/lib/docker", r.imageTag(o.Image), "/sbin/init")
	o.logf("creating %s (container %s)", NodeName(i), name)
	if _, err := d.run(ctx, args...); err != nil {
		return nil, engine.WithHint(fmt.Errorf("create lab node %s: %w", NodeName(i), err), "the docker output above says why; `collabstack lab down` removes a half-made lab")
	}
	if _, err := d.runOpts(ctx, host.RunOpts{Stdin: files}, "cp", "-", name+":/"); err != nil {
		return nil, fmt.Errorf("put the keys into lab node %s: %w", NodeName(i), err)
	}
	if _, err := d.run(ctx, "start", name); err != nil {
		return nil, engine.WithHint(fmt.Errorf("start lab node %s: %w", NodeName(i), err), "see `docker logs %s`", name)
	}
	return nodeState(ctx, d, o, i)
}

// trustExtraCAs adds this machine's extra CAs (copied in with the node's
// files) to the node's system bundle, once. It runs when the node has
// booted: run while systemd was still starting, update-ca-certificates
// was killed (exit 137), and systemd-tmpfiles empties /tmp at boot
// (tmp.conf "D /tmp"), which raced its temporary file away.
func trustExtraCAs(ctx context.Context, d *docker, o Options, i int) error {
	if len(extraCAs()) == 0 {
		return nil
	}
	const done = layout.Root + "/lab-extra-cas-trusted"
	if _, err := d.run(ctx, "exec", "-e", "TMPDIR=/var/tmp", containerName(o.Network, i), "sh", "-c",
		"test -e "+done+" || { update-ca-certificates >/dev/null && mkdir -p "+layout.Root+" && touch "+done+"; }"); err != nil {
		return fmt.Errorf("trust this machine's CA certificates in lab node %s: %w", NodeName(i), err)
	}
	return nil
}

// nodeFiles is a tar of what makes a node itself: its host key and our key.
func nodeFiles(stateDir, node, authorized string) ([]byte, error) {
	priv, err := os.ReadFile(hostKeyPath(stateDir, node))
	if err != nil {
		return nil, fmt.Errorf("read the host key of %s: %w", node, err)
	}
	pub, err := os.ReadFile(hostKeyPath(stateDir, node) + ".pub")
	if err != nil {
		return nil, fmt.Errorf("read the host key of %s: %w", node, err)
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	now := time.Now()
	add := func(name string, mode int64, data []byte) {
		h := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), ModTime: now, Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		tw.WriteHeader(h)
		tw.Write(data)
	}
	add("etc/ssh/ssh_host_ed25519_key", 0o600, priv)
	add("etc/ssh/ssh_host_ed25519_key.pub", 0o644, pub)
	add("root/.ssh/", 0o700, nil)
	add("root/.ssh/authorized_keys", 0o600, []byte(authorized))
	// This machine's extra CAs (a TLS-inspecting proxy's), trusted once
	// update-ca-certificates runs at the node's first start.
	cas := extraCAs()
	names := make([]string, 0, len(cas))
	for n := range cas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if dir := path.Dir(n); dir != "." {
			add(path.Join(strings.TrimPrefix(ExtraCADir, "/"), dir)+"/", 0o755, nil)
		}
		add(path.Join(strings.TrimPrefix(ExtraCADir, "/"), n), 0o644, cas[n])
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// systemState is `systemctl is-system-running` in node i.
func systemState(ctx context.Context, d *docker, o Options, i int) string {
	out, _ := d.run(ctx, "exec", containerName(o.Network, i), "systemctl", "is-system-running")
	return strings.TrimSpace(out)
}

// sshBanner dials addr:22 and reads the server's identification line.
func sshBanner(ctx context.Context, addr string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var dl net.Dialer
	c, err := dl.DialContext(ctx, "tcp", net.JoinHostPort(addr, "22"))
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "SSH-") {
		return "", fmt.Errorf("%s:22 answers %q, not SSH", addr, strings.TrimSpace(line))
	}
	return strings.TrimSpace(line), nil
}

// nodeReady reports whether node i has booted (systemd running, or
// degraded: some unit failed but the system is up) and sshd answers.
func nodeReady(ctx context.Context, d *docker, o Options, i int) (bool, string, error) {
	n, err := nodeState(ctx, d, o, i)
	if err != nil {
		return false, "", err
	}
	if n == nil || !n.Running {
		return false, "not running", nil
	}
	state := systemState(ctx, d, o, i)
	if state != "running" && state != "degraded" {
		return false, "systemd is " + orUnknown(state), nil
	}
	if n.Address == "" {
		return false, "no address on " + o.Network, nil
	}
	if _, err := sshBanner(ctx, n.Address); err != nil {
		return false, "sshd: " + err.Error(), nil
	}
	return true, state, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "not answering"
	}
	return s
}

// waitReady waits for node i to boot and answer SSH.
func waitReady(ctx context.Context, d *docker, o Options, i int, limit time.Duration) (*Node, error) {
	deadline := time.Now().Add(limit)
	last := ""
	restarts := 0
	for {
		ok, why, err := nodeReady(ctx, d, o, i)
		if err != nil {
			return nil, err
		}
		if why == "not running" && restarts < 3 {
			// systemd in a node has been seen to exit at once (255)
			// while the machine was very busy; a second start boots.
			restarts++
			name := containerName(o.Network, i)
			code, _ := d.run(ctx, "inspect", "--format", "{{.State.ExitCode}}", name)
			o.logf("%s stopped while booting (exit code %s); starting it again", NodeName(i), strings.TrimSpace(code))
			if _, err := d.run(ctx, "start", name); err != nil {
				return nil, engine.WithHint(fmt.Errorf("start lab node %s again: %w", NodeName(i), err), "see `docker logs %s`", name)
			}
			continue
		}
		if ok {
			if why == "degraded" {
				failed, _ := d.run(ctx, "exec", containerName(o.Network, i), "systemctl", "--failed", "--no-legend", "--plain")
				o.logf("%s: systemd is degraded (failed units: %s); going on", NodeName(i), strings.Join(strings.Fields(failed), " "))
			}
			if err := trustExtraCAs(ctx, d, o, i); err != nil {
				return nil, err
			}
			return nodeState(ctx, d, o, i)
		}
		if why != last {
			o.logf("%s: waiting: %s", NodeName(i), why)
			last = why
		}
		if time.Now().After(deadline) {
			return nil, engine.WithHint(fmt.Errorf("lab node %s did not come up within %s: %s", NodeName(i), limit, why),
				"look inside: docker exec %s systemctl --failed; docker exec %s journalctl -b --no-pager | tail -50", containerName(o.Network, i), containerName(o.Network, i))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
