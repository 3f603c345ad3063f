package sshtest

import (
	"testing"
)

func TestStartRestartRegenerate(t *testing.T) {
	s := Start(t)
	if !banner(s.Addr) {
		t.Fatalf("no SSH banner on %s", s.Addr)
	}
	fp := s.Fingerprint(t)
	port := s.Port
	s.Restart(t)
	if s.Port != port || !banner(s.Addr) {
		t.Fatalf("after Restart: port %d (was %d), banner %v", s.Port, port, banner(s.Addr))
	}
	if got := s.Fingerprint(t); got != fp {
		t.Fatalf("Restart changed the host key: %s, was %s", got, fp)
	}
	s.RegenerateHostKey(t)
	if got := s.Fingerprint(t); got == fp {
		t.Fatalf("RegenerateHostKey kept the key %s", fp)
	}
	s.Stop()
	if banner(s.Addr) {
		t.Fatal("sshd still answers after Stop")
	}
	s.Stop() // idempotent
}
