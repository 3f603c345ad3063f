package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"

	gossh "golang.org/x/crypto/ssh"

	"github.com/collabstack/collabstack/steps/host"
)

var errScanned = errors.New("host key read")

// ScanHostKey connects to spec's address and returns the host key it
// offers, without logging in and without trusting it: the wizard shows its
// fingerprint for the user to confirm before anything is pinned.
func ScanHostKey(ctx context.Context, spec host.Spec) (gossh.PublicKey, error) {
	if spec.Address == "" {
		return nil, fmt.Errorf("%s has no address", spec.Name)
	}
	port := spec.Port
	if port == 0 {
		port = 22
	}
	addr := net.JoinHostPort(spec.Address, strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, DefaultConnectTimeout)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connect to %s (%s): %w", spec.Name, addr, err)
	}
	defer raw.Close()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	var key gossh.PublicKey
	cfg := &gossh.ClientConfig{
		User: "collabstack-scan",
		HostKeyCallback: func(_ string, _ net.Addr, k gossh.PublicKey) error {
			key = k
			return errScanned
		},
	}
	_, _, _, err = gossh.NewClientConn(raw, addr, cfg)
	if key != nil {
		return key, nil
	}
	return nil, fmt.Errorf("read the host key of %s (%s): %w", spec.Name, addr, err)
}

// Pin pins key for a host as a first connection would; a host that has
// another key pinned gives a *HostKeyMismatchError.
func (k *KnownHosts) Pin(name, address string, port int, key gossh.PublicKey) error {
	if port == 0 {
		port = 22
	}
	return k.check(name, net.JoinHostPort(address, strconv.Itoa(port)), key, trust{acceptNew: true})
}
