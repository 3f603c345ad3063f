// Package pveinstall installs Proxmox VE 8 on a Debian 12 host over SSH,
// as the upstream guide "Install Proxmox VE on Debian 12 Bookworm" does
// it, in idempotent steps:
//
//	pve/preflight/<host>  Debian 12 amd64, CPU virtualization, RAM and disk
//	                      for the plan's VMs, host name in /etc/hosts,
//	                      conflicting packages (each problem says what to do)
//	pve/repo/<host>       release key (SHA-512 checked) and the
//	                      pve-no-subscription repository, full-upgrade
//	pve/kernel/<host>     proxmox-default-kernel
//	pve/reboot/<host>     reboot into it and reconnect
//	pve/packages/<host>   proxmox-ve postfix open-iscsi chrony
//	pve/cleanup/<host>    Debian kernel and os-prober removed, update-grub,
//	                      enterprise repository commented out
//	pve/bridge/<host>     vmbr0 over the main NIC, with an automatic revert
//
// A host where pveversion answers already skips every install step. The
// shell lives in templates/proxmox/install and runs as every step script
// does (steps/script: one lib.sh, MODE=check / MODE=apply, exit 100 for
// work to do); values reach it through the template, shell-quoted. Every
// Check reads the live host, so a second run changes nothing.
package pveinstall

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
)

// Component is the --only name of these steps.
const Component = "proxmox"

// Upstream defaults (pve-docs 8.4, "Package Repositories").
const (
	DefaultRepoURL       = "http://download.proxmox.com/debian/pve"
	DefaultKeyURL        = "https://enterprise.proxmox.com/debian/proxmox-release-bookworm.gpg"
	DefaultKeySHA512     = "7da6fe34168adc6e479327ba517796d4702fa2f8b4f0a9833f5ea6e6b48f6507a6da403a274fe201595edc86a84463d50383d07f64bdde2e3658108db7d6dc87"
	DefaultSuite         = "bookworm"
	DefaultRepoComponent = "pve-no-subscription"
	DefaultBridge        = "vmbr0"
	// DefaultRevertAfter is how long a network change may stay
	// unconfirmed before the host puts the previous one back.
	DefaultRevertAfter = 2 * time.Minute
)

// What the host keeps for itself on top of its VMs.
const (
	// HostMemoryMB: "2 GB for the OS and Proxmox VE services" (PVE
	// system requirements).
	HostMemoryMB = 2048
	// HostDiskGB: room for the images and ISOs the VMs are made from.
	HostDiskGB = 16
)

// DefaultPackages are installed after the reboot, as the upstream guide
// lists them.
func DefaultPackages() []string { return []string{"proxmox-ve", "postfix", "open-iscsi", "chrony"} }

// Options tune the install beyond the site file (tests point the
// repository at a stub).
type Options struct {
	// RepoURL is the Proxmox VE repository (default DefaultRepoURL).
	RepoURL string
	// KeyURL is the release key, checked against KeySHA512.
	KeyURL, KeySHA512 string
	// Suite and RepoComponent of the repository line (bookworm,
	// pve-no-subscription).
	Suite, RepoComponent string
	// Packages installed after the reboot (default DefaultPackages).
	Packages []string
	// Bridge is the bridge made over the main NIC (default: the site's
	// network.wan_bridge, or vmbr0).
	Bridge string
	// RevertAfter is the revert timer of the bridge change.
	RevertAfter time.Duration
	// AllowNoVirtualization makes a CPU without vmx/svm a warning rather
	// than a problem (nested labs and containers; VMs then need kvm: 0).
	AllowNoVirtualization bool
}

func (o Options) withDefaults(s *site.Site) Options {
	if o.RepoURL == "" {
		o.RepoURL = DefaultRepoURL
	}
	if o.KeyURL == "" {
		o.KeyURL = DefaultKeyURL
	}
	if o.KeySHA512 == "" {
		o.KeySHA512 = DefaultKeySHA512
	}
	if o.Suite == "" {
		o.Suite = DefaultSuite
	}
	if o.RepoComponent == "" {
		o.RepoComponent = DefaultRepoComponent
	}
	if len(o.Packages) == 0 {
		o.Packages = DefaultPackages()
	}
	if o.Bridge == "" && s != nil && s.Network != nil {
		o.Bridge = s.Network.WANBridge
	}
	if o.Bridge == "" {
		o.Bridge = DefaultBridge
	}
	if o.RevertAfter <= 0 {
		o.RevertAfter = DefaultRevertAfter
	}
	o.RepoURL = strings.TrimSuffix(o.RepoURL, "/")
	return o
}

// ID is a step's ID: "pve/kernel/pve1".
func ID(what, hostName string) string { return "pve/" + what + "/" + hostName }

// LastID is the step the VM steps of a host come after (the bridge).
func LastID(hostName string) string { return ID("bridge", hostName) }

// Needs returns what the plan asks of hostName: the memory (MB) and disk
// (GB) of the site's VMs on it plus the host's own share.
func Needs(s *site.Site, hostName string) (memoryMB, diskGB int) {
	memoryMB, diskGB = HostMemoryMB, HostDiskGB
	if s == nil || s.Proxmox == nil {
		return memoryMB, diskGB
	}
	for _, vm := range s.Proxmox.VMs {
		if vm.On == hostName {
			memoryMB += vm.MemoryMB
			diskGB += vm.DiskGB
		}
	}
	return memoryMB, diskGB
}

// Steps installs Proxmox VE on hostName; the first step comes after needs.
func Steps(s *site.Site, hostName string, needs ...string) []engine.Step {
	return StepsWith(s, hostName, Options{}, needs...)
}

// StepsWith is Steps with options.
func StepsWith(s *site.Site, hostName string, o Options, needs ...string) []engine.Step {
	o = o.withDefaults(s)
	id := func(what string) string { return ID(what, hostName) }
	memMB, diskGB := Needs(s, hostName)
	requireVirt := "1"
	if o.AllowNoVirtualization {
		requireVirt = "0"
	}
	return []engine.Step{
		preflightStep(id("preflight"), hostName, needs, map[string]any{
			"MinMemMB": strconv.Itoa(memMB), "MinDiskGB": strconv.Itoa(diskGB), "RequireVirt": requireVirt,
		}),
		scriptStep(id("repo"), "Add the Proxmox VE repository on "+hostName, hostName, []string{id("preflight")}, "repo.sh", map[string]any{
			"RepoURL": o.RepoURL, "KeyURL": o.KeyURL, "KeySHA512": o.KeySHA512, "Suite": o.Suite, "RepoComponent": o.RepoComponent,
		}),
		scriptStep(id("kernel"), "Install the Proxmox VE kernel on "+hostName, hostName, []string{id("repo")}, "kernel.sh", map[string]any{}),
		rebootStep(id("reboot"), hostName, []string{id("kernel")}),
		scriptStep(id("packages"), "Install Proxmox VE on "+hostName, hostName, []string{id("reboot")}, "packages.sh", map[string]any{
			"Packages": o.Packages,
		}),
		scriptStep(id("cleanup"), "Remove the Debian kernel and os-prober from "+hostName, hostName, []string{id("packages")}, "cleanup.sh", map[string]any{}),
		bridgeStep(id("bridge"), hostName, []string{id("cleanup")}, o),
	}
}

// preflightStep checks the host against Proxmox VE's and the plan's needs.
// It changes nothing: Check passes when the host is fit (or runs PVE
// already); otherwise Apply fails with every problem and what to do.
func preflightStep(id, hostName string, needs []string, data map[string]any) engine.Step {
	return &engine.Func{
		StepID: id, Name: "Check that " + hostName + " is ready for Proxmox VE", On: hostName, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			r := run(ctx, env, "preflight.sh", script.Check, data, false)
			script.LogLines(env, r.Out, "warn: ")
			script.LogLines(env, r.Out, "ok: ")
			switch {
			case r.Err == nil:
				return true, nil
			case r.Todo():
				script.LogLines(env, r.Out, "problem: ")
				return false, nil
			}
			return false, fmt.Errorf("preflight of %s: %w", hostName, r.Err)
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			r := run(ctx, env, "preflight.sh", script.Apply, data, false)
			if r.Err == nil {
				script.LogLines(env, r.Out, "ok: ")
				return nil
			}
			problems, fixes := parseProblems(r.Out)
			if len(problems) == 0 {
				return fmt.Errorf("preflight of %s: %w", hostName, r.Err)
			}
			var msg strings.Builder
			fmt.Fprintf(&msg, "%s is not ready for Proxmox VE:", hostName)
			for i, p := range problems {
				fmt.Fprintf(&msg, " (%d) %s: %s;", i+1, p, fixes[i])
			}
			return engine.WithHint(fmt.Errorf("%s", strings.TrimSuffix(msg.String(), ";")), "%s", strings.Join(fixes, "; "))
		},
	}
}

// parseProblems pairs the "problem: " and "fix: " lines of preflight.sh.
func parseProblems(out string) (problems, fixes []string) {
	for _, line := range strings.Split(out, "\n") {
		if p, ok := strings.CutPrefix(line, "problem: "); ok {
			problems = append(problems, p)
			fixes = append(fixes, "")
		} else if f, ok := strings.CutPrefix(line, "fix: "); ok && len(fixes) > 0 {
			fixes[len(fixes)-1] = f
		}
	}
	return problems, fixes
}

// rebootStep reboots into the Proxmox VE kernel. Check: PVE answers
// already, or the running kernel belongs to a Proxmox kernel package.
func rebootStep(id, hostName string, needs []string) engine.Step {
	title := "Reboot " + hostName + " into the Proxmox VE kernel"
	check := func(ctx context.Context, env *engine.Env) (bool, string, error) {
		r := run(ctx, env, "kernel-running.sh", script.Check, map[string]any{}, false)
		kernel := ""
		for _, line := range strings.Split(r.Out, "\n") {
			if k, ok := strings.CutPrefix(line, "running kernel: "); ok {
				kernel = k
			}
		}
		switch {
		case r.Err == nil:
			return true, kernel, nil
		case r.Todo():
			return false, kernel, nil
		}
		return false, kernel, fmt.Errorf("%s: read the running kernel: %w", hostName, r.Err)
	}
	return &engine.Func{
		StepID: id, Name: title, On: hostName, Needs: needs, Comp: Component,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			done, kernel, err := check(ctx, env)
			if err == nil && !done {
				env.Logf("%s runs %s, not a Proxmox VE kernel: a reboot is needed", hostName, kernel)
			}
			return done, err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			if err := env.Reboot(ctx); err != nil {
				return engine.WithHint(fmt.Errorf("reboot %s: %w", hostName, err),
					"look at the host's console: if it does not boot, choose the previous kernel under Advanced options in GRUB; then run apply again")
			}
			done, kernel, err := check(ctx, env)
			if err != nil {
				return err
			}
			if !done {
				return engine.WithHint(fmt.Errorf("%s came back with the kernel %s, not the Proxmox VE kernel", hostName, kernel),
					"on %s, pick the Proxmox kernel as GRUB's default (update-grub; the entry under Advanced options), and with Secure Boot make sure the signed proxmox-kernel package is installed; then run apply again", hostName)
			}
			env.Logf("%s runs the Proxmox VE kernel %s", hostName, kernel)
			return nil
		},
	}
}
