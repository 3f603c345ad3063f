package apps

import (
	"fmt"
	"strings"
)

// Totals are what a set of apps needs, from their metadata estimates.
type Totals struct {
	RAMMB  int
	DiskGB int
	Cores  float64
}

// Hardware is what a site offers the swarm.
type Hardware struct {
	Name   string
	RAMMB  int
	DiskGB int
	Cores  float64
}

// Seed000 is the mini-server the collaboration suite is sized for: 64 GB ECC RAM, 16 cores, 1 TB SSD.
var Seed000 = Hardware{Name: "the suite's reference mini-server", RAMMB: 64 * 1024, DiskGB: 1000, Cores: 16}

// Budget adds up the estimates of apps (give Resolve's answer, so
// dependencies count once).
func (c *Catalog) Budget(apps []string) (Totals, error) {
	var t Totals
	seen := map[string]bool{}
	for _, n := range apps {
		a, ok := c.apps[n]
		if !ok {
			return t, fmt.Errorf("%q is not in the app catalog", n)
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		t.RAMMB += a.Resources.RAMMB
		t.DiskGB += a.Resources.DiskGB
		t.Cores += a.Resources.CPU
	}
	return t, nil
}

// Reserve is kept back from the hardware for the host systems (Proxmox,
// the VMs' kernels, Docker): a quarter of the RAM, at least 4 GB.
func (h Hardware) Reserve() int {
	r := h.RAMMB / 4
	if r < 4096 {
		r = 4096
	}
	return r
}

// CPUOvercommit is how many times its cores a machine may be asked for:
// the CPU estimates are what an app wants at its peak, and apps rarely
// peak together.
const CPUOvercommit = 3

// Check reports what the totals over-commit on the hardware: RAM beyond
// what is left after the reserve, disk beyond its size, cores beyond
// CPUOvercommit times its cores. nil when it fits.
func (t Totals) Check(h Hardware) error {
	var over []string
	if avail := h.RAMMB - h.Reserve(); t.RAMMB > avail {
		over = append(over, fmt.Sprintf("RAM: the apps need about %.1f GB, %s leaves %.1f GB for them", gb(t.RAMMB), h.Name, gb(avail)))
	}
	if h.DiskGB > 0 && t.DiskGB > h.DiskGB {
		over = append(over, fmt.Sprintf("disk: the apps need about %d GB, %s has %d GB", t.DiskGB, h.Name, h.DiskGB))
	}
	if h.Cores > 0 && t.Cores > CPUOvercommit*h.Cores {
		over = append(over, fmt.Sprintf("CPU: the apps want about %.1f cores, %s has %.0f", t.Cores, h.Name, h.Cores))
	}
	if len(over) == 0 {
		return nil
	}
	return fmt.Errorf("the chosen apps over-commit the hardware (%s): leave some out or add hardware", strings.Join(over, "; "))
}

// String says the totals the way people read them.
func (t Totals) String() string {
	return fmt.Sprintf("%.1f GB RAM, %d GB disk, %.1f cores", gb(t.RAMMB), t.DiskGB, t.Cores)
}

func gb(mb int) float64 { return float64(mb) / 1024 }

// BudgetByPlacement adds up the estimates per node label (infra, common),
// each app where the site places it: what each group of nodes must hold.
func (c *Catalog) BudgetByPlacement(apps []string, in RenderInput) (map[string]Totals, error) {
	out := map[string]Totals{}
	for _, n := range apps {
		if _, ok := c.apps[n]; !ok {
			return nil, fmt.Errorf("%q is not in the app catalog", n)
		}
		label := c.placement(n, in)
		t, err := c.Budget([]string{n})
		if err != nil {
			return nil, err
		}
		sum := out[label]
		sum.RAMMB += t.RAMMB
		sum.DiskGB += t.DiskGB
		sum.Cores += t.Cores
		out[label] = sum
	}
	return out, nil
}
