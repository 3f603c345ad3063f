package ssh

import (
	"context"
	"fmt"
)

// Redial opens a new connection to the host (one attempt, bounded by
// Options.ConnectTimeout) and makes it the Host's connection, closing the
// old one. It proves that a new SSH connection gets through now, which
// an established one cannot (a firewall keeps established connections):
// steps that change the host's firewall confirm over it. On failure the
// old connection stays in use.
func (h *Host) Redial(ctx context.Context) error {
	select {
	case h.dialing <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: wait for the reconnection: %w", h.spec.Name, ctx.Err())
	}
	defer func() { <-h.dialing }()
	c, err := h.connectOnce(ctx)
	if err != nil {
		return h.redactErr(fmt.Errorf("open a new connection to %s: %w", h.spec.Name, unwrapPermanent(err)))
	}
	return h.redactErr(h.install(c))
}
