package tui

import (
	"fmt"
	"strings"
)

// What every host that runs components keeps for its system, Docker and
// the swarm before any component.
const (
	reserveRAMMB  = 1024
	reserveDiskGB = 10
)

// hardware is what the tested hosts offer the components.
type hardware struct {
	// Hosts are the app hosts whose facts are known.
	Hosts []string
	// Untested are app hosts whose facts are not known yet.
	Untested []string
	RAMMB    int
	DiskGB   int
}

// known reports whether any hardware was detected.
func (h hardware) known() bool { return len(h.Hosts) > 0 }

// budget is the need of a set of components against the hardware.
type budget struct {
	NeedRAMMB, NeedDiskGB int // components plus the reserve per host
	HaveRAMMB, HaveDiskGB int
	Known                 bool
	hw                    hardware
}

// budgetWith sums what names need against hw.
func (c *catalog) budgetWith(names []string, hw hardware) budget {
	b := budget{Known: hw.known(), HaveRAMMB: hw.RAMMB, HaveDiskGB: hw.DiskGB, hw: hw}
	n := max(len(hw.Hosts), 1)
	b.NeedRAMMB, b.NeedDiskGB = n*reserveRAMMB, n*reserveDiskGB
	for _, name := range names {
		if a, ok := c.app(name); ok {
			b.NeedRAMMB += a.RAMMB
			b.NeedDiskGB += a.DiskGB
		}
	}
	return b
}

// budget is the current choice's budget.
func (c *catalog) budget(hw hardware) budget { return c.budgetWith(c.selected(), hw) }

// overRAM and overDisk report an over-commit.
func (b budget) overRAM() bool  { return b.Known && b.NeedRAMMB > b.HaveRAMMB }
func (b budget) overDisk() bool { return b.Known && b.NeedDiskGB > b.HaveDiskGB }
func (b budget) over() bool     { return b.overRAM() || b.overDisk() }

// refuse explains why adding what (bringing add) does not fit, or nil.
func (b budget) refuse(c *catalog, what string, add []string) error {
	if !b.over() {
		return nil
	}
	ram, disk := 0, 0
	for _, n := range add {
		if a, ok := c.app(n); ok {
			ram += a.RAMMB
			disk += a.DiskGB
		}
	}
	with := ""
	if others := without(add, what); len(others) > 0 {
		with = " with " + c.titles(others)
	}
	hosts := strings.Join(b.hw.Hosts, ", ")
	var msg string
	if b.overRAM() {
		msg = fmt.Sprintf("%s%s needs %s of memory; the choice would then need %s, more than the %s of %s",
			c.title(what), with, mb(ram), mb(b.NeedRAMMB), mb(b.HaveRAMMB), hosts)
	} else {
		msg = fmt.Sprintf("%s%s needs %d GB of disk; the choice would then need %d GB, more than the %d GB free on %s",
			c.title(what), with, disk, b.NeedDiskGB, b.HaveDiskGB, hosts)
	}
	return fmt.Errorf("%s (each host keeps %s and %d GB for its system). Deselect a component, or add a host and test it",
		msg, mb(reserveRAMMB), reserveDiskGB)
}

// overError explains an over-commit of the current choice (a site file
// read back on smaller hardware), or nil.
func (b budget) overError() error {
	switch {
	case b.overRAM():
		return fmt.Errorf("the components need %s of memory, more than the %s of %s: deselect some", mb(b.NeedRAMMB), mb(b.HaveRAMMB), strings.Join(b.hw.Hosts, ", "))
	case b.overDisk():
		return fmt.Errorf("the components need %d GB of disk, more than the %d GB free on %s: deselect some", b.NeedDiskGB, b.HaveDiskGB, strings.Join(b.hw.Hosts, ", "))
	}
	return nil
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// mb formats megabytes for people.
func mb(n int) string {
	if n >= 1024 {
		return fmt.Sprintf("%.1f GB", float64(n)/1024)
	}
	return fmt.Sprintf("%d MB", n)
}

// bar draws a budget bar of width cells: used of have.
func bar(used, have, width int) string {
	if width < 3 {
		width = 3
	}
	full := width
	if have > 0 {
		full = min(width, (used*width+have-1)/have)
	}
	return strings.Repeat("█", full) + strings.Repeat("░", width-full)
}
