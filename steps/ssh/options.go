// Package ssh implements host.Host over SSH (golang.org/x/crypto/ssh for
// commands, github.com/pkg/sftp for files).
//
// One Host keeps one SSH connection and multiplexes every command on it as
// separate sessions, so it is safe for concurrent use. Host keys are
// checked against a KnownHosts file; a host nothing vouches for (no pinned
// key, no fingerprint in its spec) is refused unless the caller explicitly
// accepts new keys (Options.AcceptNewHostKeys, spec.TrustFirstKey). A dropped connection is redialled
// transparently, with backoff, by the next call that needs it. Every line
// of output and every error goes through the redactor before it leaves.
package ssh

import (
	"time"
)

// Defaults for the zero values of Options.
const (
	DefaultConnectTimeout   = 15 * time.Second
	DefaultKeepAlive        = 15 * time.Second
	DefaultReconnectTimeout = 2 * time.Minute
	DefaultRebootTimeout    = 10 * time.Minute
	DefaultMaxSessions      = 8
)

// Options tunes a connection.
type Options struct {
	// KnownHosts pins host keys. Nil keeps the pins in memory for the
	// life of the Host (a reconnect must still present the same key).
	KnownHosts *KnownHosts
	// AcceptNewHostKeys pins the key a host offers on the first
	// connection when nothing vouches for it (no pinned key, no HostKey
	// in its spec): trust on first use. The zero value refuses such a
	// host with *HostKeyUnknownError (exit code 4). Set it only where
	// the user asked for it (--accept-new-host-keys) or has just
	// confirmed the fingerprint; a spec's TrustFirstKey says the same
	// for one host.
	AcceptNewHostKeys bool
	// Jump, when set, is the host to tunnel through (spec.Jump resolved).
	Jump *Host
	// Redact cleans every output line and error message. The spec's
	// passwords are always redacted as well.
	Redact func(string) string

	// ConnectTimeout bounds one attempt to connect and log in.
	ConnectTimeout time.Duration
	// KeepAlive is the interval of keepalive probes; a probe unanswered
	// for two intervals drops the connection. Negative disables them.
	KeepAlive time.Duration
	// Retry keeps retrying the first connection for this long when the
	// host is unreachable (a machine still booting). Zero tries once.
	Retry time.Duration
	// ReconnectTimeout bounds the redial after a dropped connection.
	ReconnectTimeout time.Duration
	// RebootTimeout bounds how long Reboot waits for the host to return.
	RebootTimeout time.Duration
	// MaxSessions is the most commands run at once on the connection
	// (OpenSSH allows 10 sessions per connection by default; one is kept
	// for SFTP).
	MaxSessions int
}

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.ReconnectTimeout <= 0 {
		o.ReconnectTimeout = DefaultReconnectTimeout
	}
	if o.RebootTimeout <= 0 {
		o.RebootTimeout = DefaultRebootTimeout
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = DefaultMaxSessions
	}
	return o
}
