package ssh

import (
	"context"
	"errors"
	"fmt"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// errClosed is the error of a Host used after Close.
var errClosed = errors.New("the connection was closed (Close was called)")

const (
	firstBackoff = 250 * time.Millisecond
	maxBackoff   = 10 * time.Second
)

// conn returns the live connection, redialling (with backoff, for up to
// Options.ReconnectTimeout) when the previous one dropped.
func (h *Host) conn(ctx context.Context) (*conn, error) {
	return h.connWithin(ctx, h.opts.ReconnectTimeout)
}

func (h *Host) connWithin(ctx context.Context, limit time.Duration) (*conn, error) {
	if c, err := h.current(); c != nil || err != nil {
		return c, err
	}
	select {
	case h.dialing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: wait for the reconnection: %w", h.spec.Name, ctx.Err())
	}
	defer func() { <-h.dialing }()
	// Someone else may have reconnected while we waited.
	if c, err := h.current(); c != nil || err != nil {
		return c, err
	}
	c, err := h.dialWithBackoff(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("the connection to %s dropped; reconnecting failed: %w", h.spec.Name, err)
	}
	if err := h.install(c); err != nil {
		return nil, err
	}
	return c, nil
}

// current returns the live connection, nil when it needs a redial, or an
// error when the Host was closed.
func (h *Host) current() (*conn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("%s: %w", h.spec.Name, errClosed)
	}
	if h.cur != nil && h.cur.alive() {
		return h.cur, nil
	}
	return nil, nil
}

// install makes c the Host's connection and starts its keepalive.
func (h *Host) install(c *conn) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.close()
		return fmt.Errorf("%s: %w", h.spec.Name, errClosed)
	}
	old := h.cur
	h.cur = c
	h.fp = c.fp
	h.connects++
	h.mu.Unlock()
	if old != nil {
		old.close()
	}
	go h.keepalive(c)
	return nil
}

// dialWithBackoff connects, retrying unreachable hosts with exponential
// backoff for up to limit (zero: one attempt). Refused logins and changed
// host keys are not retried.
func (h *Host) dialWithBackoff(ctx context.Context, limit time.Duration) (*conn, error) {
	deadline := time.Now().Add(limit)
	wait := firstBackoff
	for attempt := 1; ; attempt++ {
		c, err := h.connectOnce(ctx)
		if err == nil {
			return c, nil
		}
		if isPermanent(err) {
			return nil, unwrapPermanent(err)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%v; stopped: %w", err, ctx.Err())
		}
		if limit <= 0 {
			return nil, err
		}
		if time.Now().Add(wait).After(deadline) {
			return nil, fmt.Errorf("%w (gave up after %d attempts over %s)", err, attempt, limit)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%v; stopped: %w", err, ctx.Err())
		}
		wait = min(wait*2, maxBackoff)
	}
}

func unwrapPermanent(err error) error {
	var p *permanentError
	if errors.As(err, &p) && p == err {
		return p.err
	}
	return err
}

// keepalive probes the connection; a probe unanswered for two intervals
// closes it, so the next call redials instead of hanging.
func (h *Host) keepalive(c *conn) {
	if h.opts.KeepAlive < 0 {
		return
	}
	t := time.NewTicker(h.opts.KeepAlive)
	defer t.Stop()
	for {
		select {
		case <-c.dead:
			return
		case <-h.closeCh:
			return
		case <-t.C:
		}
		res := make(chan error, 1)
		go func() {
			_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
			res <- err
		}()
		timeout := time.NewTimer(2 * h.opts.KeepAlive)
		select {
		case err := <-res:
			timeout.Stop()
			if err != nil {
				c.close()
				return
			}
		case <-timeout.C:
			c.close()
			return
		case <-c.dead:
			timeout.Stop()
			return
		case <-h.closeCh:
			timeout.Stop()
			return
		}
	}
}

// session opens a session on the live connection, redialling when the
// connection turns out to be broken and waiting when the server has too
// many sessions open. release must be called when the session is done.
func (h *Host) session(ctx context.Context) (*conn, *gossh.Session, func(), error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, nil, fmt.Errorf("%s: wait for a free session: %w", h.spec.Name, ctx.Err())
	}
	release := func() { <-h.slots }
	var lastErr error
	for attempt := 1; attempt <= 6; attempt++ {
		c, err := h.conn(ctx)
		if err != nil {
			release()
			return nil, nil, nil, err
		}
		s, err := c.client.NewSession()
		if err == nil {
			return c, s, release, nil
		}
		lastErr = err
		var oce *gossh.OpenChannelError
		if errors.As(err, &oce) {
			// The server refused the session (MaxSessions): wait a little.
			t := time.NewTimer(time.Duration(attempt) * 200 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				release()
				return nil, nil, nil, fmt.Errorf("%s: open a session: %w", h.spec.Name, ctx.Err())
			}
			continue
		}
		// The transport is broken: drop it so conn redials.
		c.close()
	}
	release()
	return nil, nil, nil, fmt.Errorf("%s: open a session: %v: check MaxSessions in the host's sshd_config, or that the connection is stable", h.spec.Name, lastErr)
}
