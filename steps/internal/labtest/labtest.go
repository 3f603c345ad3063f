// Package labtest starts lab nodes (containers that boot like servers) for
// the tests of any package, and connects to them over the real SSH
// transport. Tests skip with a clear message when no dockerd answers
// (after waiting for a slow one), and fail instead under CI=true.
package labtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/collabstack/collabstack/internal/testtools"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/lab"
	"github.com/collabstack/collabstack/steps/ssh"
)

// Lab is a running test lab.
type Lab struct {
	Options  lab.Options
	Nodes    []lab.Node
	StateDir string
	known    *ssh.KnownHosts
}

// Start brings up n nodes from image (lab.ImageDocker has docker.io
// already; lab.ImageBase is bare) on a network named after the test, and
// removes them with their volumes when the test ends.
func Start(t testing.TB, n int, image string) *Lab {
	t.Helper()
	testtools.NeedCommand(t, "debootstrap", "apt-get install debootstrap")
	testtools.NeedDocker(t)
	state, err := os.MkdirTemp("", "labtest-state-*")
	if err != nil {
		t.Fatal(err)
	}
	o := lab.Options{
		Nodes:    n,
		Network:  fmt.Sprintf("cs-t%d-%s", os.Getpid()%100000, short(t.Name())),
		Image:    image,
		StateDir: state,
		Out:      func(line string) { t.Log(line) },
	}
	l := &Lab{Options: o, StateDir: state}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		o.Out = nil
		if err := lab.Down(ctx, o, true); err != nil {
			t.Logf("labtest: lab down: %v", err)
		}
		os.RemoveAll(state)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	nodes, err := lab.Up(ctx, o)
	if err != nil {
		t.Fatalf("labtest: lab up: %v", err)
	}
	l.Nodes = nodes
	l.known, err = ssh.Open(filepath.Join(state, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Spec is how to reach node i (0-based) over SSH as root.
func (l *Lab) Spec(i int) host.Spec { return l.Nodes[i].Spec(l.StateDir) }

// Dial connects to node i over SSH; the connection closes with the test.
func (l *Lab) Dial(t testing.TB, i int) *ssh.Host {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := ssh.Dial(ctx, l.Spec(i), ssh.Options{KnownHosts: l.known})
	if err != nil {
		t.Fatalf("labtest: connect to %s: %v", l.Nodes[i].Name, err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func short(name string) string {
	out := make([]byte, 0, 12)
	for i := 0; i < len(name) && len(out) < 12; i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	return string(out)
}
