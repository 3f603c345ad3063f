package lab

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// SiteOptions fill the parts of a lab site file that are not about hosts.
type SiteOptions struct {
	Domain     string   // default kopnik.test
	AdminEmail string   // default admin@<domain>
	Components []string // default kopnik
}

// SiteFile renders a ready site file for running nodes: topology lab, each
// node a host with its address, logging in as root with the lab key; lab-1
// is the manager (label infra), the others workers (label common). The
// state directory is the lab's, so the keys match.
func SiteFile(nodes []Node, opts Options, so SiteOptions) ([]byte, error) {
	o := opts.withDefaults()
	if len(nodes) == 0 {
		return nil, fmt.Errorf("write the lab site file: no lab nodes run; run `collabstack lab up` first")
	}
	if so.Domain == "" {
		so.Domain = "kopnik.test"
	}
	if so.AdminEmail == "" {
		so.AdminEmail = "admin@" + so.Domain
	}
	if so.Components == nil {
		so.Components = []string{"kopnik"}
	}
	stateDir, err := filepath.Abs(o.StateDir)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# collabstack site file for the lab started by `collabstack lab up`.")
	w("# The nodes are containers on this machine; collabstack logs in as root")
	w("# with the lab key. Next: collabstack apply --config THIS_FILE")
	w("version: %d", site.Version)
	w("topology: %s", site.TopologyLab)
	w("domain: %s", so.Domain)
	w("admin_email: %s", so.AdminEmail)
	w("tls:")
	w("  mode: %s", site.TLSSelfSigned)
	w("state_dir: %s", yamlString(stateDir))
	w("lab:")
	w("  nodes: %d", len(nodes))
	w("  network: %s", yamlString(o.Network))
	if o.Subnet != "" {
		w("  subnet: %s", yamlString(o.Subnet))
	}
	if o.Image != ImageBase {
		w("  image: %s", yamlString(o.Image))
	}
	w("hosts:")
	for _, n := range nodes {
		if n.Address == "" {
			return nil, fmt.Errorf("write the lab site file: %s has no address (is it running? `docker ps -a`)", n.Name)
		}
		w("  - name: %s", n.Name)
		w("    address: %s", n.Address)
		w("    user: root")
		w("    auth:")
		w("      method: key")
		w("      key_file: %s", yamlString(KeyPath(stateDir)))
		if fp := HostKeyFingerprint(stateDir, n.Name); fp != "" {
			// collabstack made the node's host key: no trust on first use.
			w("    host_key: %s", yamlString(fp))
		}
		w("    role: %s", n.Role)
		if len(n.Labels) > 0 {
			w("    labels:")
			keys := make([]string, 0, len(n.Labels))
			for k := range n.Labels {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				w("      %s: %s", k, yamlString(n.Labels[k]))
			}
		}
	}
	if len(so.Components) > 0 {
		w("components:")
		for _, c := range so.Components {
			w("  %s: {}", c)
		}
	}
	return []byte(b.String()), nil
}

// WriteSite writes SiteFile to path; an existing file is never replaced.
func WriteSite(path string, nodes []Node, opts Options, so SiteOptions) error {
	data, err := SiteFile(nodes, opts, so)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return engine.WithHint(fmt.Errorf("write the lab site file: %s already exists", path), "choose another file name, or delete it first")
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write the lab site file %s: %w", path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("write the lab site file %s: %w", path, err)
	}
	return nil
}

// yamlString quotes s when YAML could read it as something else.
func yamlString(s string) string {
	if s != "" && !strings.ContainsAny(s, ":#{}[],&*!|>'\"%@` \t") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}
