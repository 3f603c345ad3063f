// Package facts reads what a host is: OS, architecture, CPU cores, memory
// and disk. The wizard shows it after "test connection"; steps use it to
// choose how to install things and to check the plan fits the hardware.
package facts

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/collabstack/collabstack/steps/host"
)

// Facts describe a host.
type Facts struct {
	OSID        string // debian, ubuntu, openwrt...
	OSVersion   string // 12, 24.04
	OSPretty    string
	Arch        string // x86_64, aarch64
	Cores       int
	MemoryMB    int
	MemFreeMB   int // available now (MemAvailable)
	DiskFreeGB  int // free on /
	Hostname    string
	Virtualized bool // CPU has vmx/svm (needed by Proxmox VE)
	Systemd     bool
}

// The script prints key=value lines; it only reads.
const script = `. /etc/os-release 2>/dev/null
echo "id=${ID:-unknown}"
echo "version=${VERSION_ID:-}"
echo "pretty=${PRETTY_NAME:-}"
echo "arch=$(uname -m)"
echo "cores=$(grep -c ^processor /proc/cpuinfo)"
echo "mem_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
echo "mem_avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
echo "disk_kb=$(df -Pk / | awk 'NR==2 {print $4}')"
echo "hostname=$(hostname)"
echo "virt=$(grep -Ecm1 '(vmx|svm)' /proc/cpuinfo)"
echo "systemd=$(test -d /run/systemd/system && echo 1 || echo 0)"
`

// Gather reads the facts of h.
func Gather(ctx context.Context, h host.Host) (Facts, error) {
	out, err := h.Run(ctx, script, host.RunOpts{})
	if err != nil {
		return Facts{}, fmt.Errorf("read the facts of %s: %w", h.Name(), err)
	}
	return parse(out), nil
}

func parse(out string) Facts {
	var f Facts
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok {
			continue
		}
		n, _ := strconv.Atoi(v)
		switch k {
		case "id":
			f.OSID = v
		case "version":
			f.OSVersion = v
		case "pretty":
			f.OSPretty = v
		case "arch":
			f.Arch = v
		case "cores":
			f.Cores = n
		case "mem_kb":
			f.MemoryMB = n / 1024
		case "mem_avail_kb":
			f.MemFreeMB = n / 1024
		case "disk_kb":
			f.DiskFreeGB = n / 1024 / 1024
		case "hostname":
			f.Hostname = v
		case "virt":
			f.Virtualized = n > 0
		case "systemd":
			f.Systemd = v == "1"
		}
	}
	return f
}

// String is a one-line summary for people.
func (f Facts) String() string {
	return fmt.Sprintf("%s (%s), %d cores, %d MB RAM, %d GB free disk", f.OSPretty, f.Arch, f.Cores, f.MemoryMB, f.DiskFreeGB)
}

// Supported reports whether collabstack can prepare this OS as a swarm
// host, with the reason when it cannot.
func (f Facts) Supported() error {
	switch {
	case f.OSID == "debian" && (f.OSVersion == "12" || f.OSVersion == "13"):
	case f.OSID == "ubuntu" && (f.OSVersion == "22.04" || f.OSVersion == "24.04"):
	default:
		return fmt.Errorf("%s is not supported: use Debian 12 or Ubuntu 22.04/24.04", f.OSPretty)
	}
	return nil
}
