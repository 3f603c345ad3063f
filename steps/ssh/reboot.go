package ssh

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/host"
)

// rebootCommand detaches the reboot so the command returns (and its
// session closes cleanly) before the host goes down.
const rebootCommand = `nohup /bin/sh -c 'sleep 1; systemctl reboot || reboot' </dev/null >/dev/null 2>&1 &`

// bootIDCommand prints what names this boot of the host: the kernel's boot
// id, which a machine's reboot changes, and the start time of PID 1 (in
// clock ticks since the kernel booted), which changes when a container
// reboots: its init exits and starts again under the same kernel, whose
// boot id stays.
const bootIDCommand = `cat /proc/sys/kernel/random/boot_id; cut -d' ' -f22 /proc/1/stat`

// Reboot implements host.Rebooter: it reboots the host (through sudo when
// the login user is not root), waits for the connection to drop, redials
// until the host answers (up to Options.RebootTimeout) and checks that the
// boot id changed.
func (h *Host) Reboot(ctx context.Context) error {
	return h.redactErr(h.reboot(ctx))
}

func (h *Host) reboot(ctx context.Context) error {
	before, err := h.bootID(ctx)
	if err != nil {
		return err
	}
	c, err := h.conn(ctx)
	if err != nil {
		return err
	}
	if h.rebootFn != nil {
		err = h.rebootFn(ctx)
	} else {
		_, err = h.run(ctx, rebootCommand, host.RunOpts{Sudo: true})
	}
	if err != nil {
		return fmt.Errorf("%s: reboot: %w", h.spec.Name, err)
	}

	t := time.NewTimer(h.opts.RebootTimeout)
	defer t.Stop()
	select {
	case <-c.dead:
	case <-ctx.Done():
		return fmt.Errorf("%s: wait for the reboot: %w", h.spec.Name, ctx.Err())
	case <-t.C:
		return fmt.Errorf("%s: a reboot was requested but the connection stayed up for %s: check the host's console", h.spec.Name, h.opts.RebootTimeout)
	}

	if _, err := h.connWithin(ctx, h.opts.RebootTimeout); err != nil {
		return fmt.Errorf("%s: did not come back after the reboot: %w", h.spec.Name, err)
	}
	after, err := h.bootID(ctx)
	if err != nil {
		return err
	}
	if after == before {
		return fmt.Errorf("%s: did not reboot (its boot id %s is unchanged): check the host's console and logs", h.spec.Name, before)
	}
	return nil
}

func (h *Host) bootID(ctx context.Context) (string, error) {
	out, err := h.run(ctx, h.bootIDCommand, host.RunOpts{})
	if err != nil {
		return "", fmt.Errorf("%s: read the boot id: %w", h.spec.Name, err)
	}
	id := strings.TrimSpace(out)
	if id == "" {
		return "", fmt.Errorf("%s: read the boot id: %s is empty", h.spec.Name, h.bootIDCommand)
	}
	return id, nil
}
