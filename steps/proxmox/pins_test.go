package proxmox

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/internal/pvesim"
	"github.com/collabstack/collabstack/steps/pins"
)

// A changed PVE certificate stops the run: the first API step fails with
// a CertMismatchError (exit code 4 in the CLI) that says what to do,
// every step after it is blocked, and no request reaches the API, so the
// token is not sent to whoever answers. The pins file of the state
// directory, in the layout earlier versions wrote, is kept as it is.
// Against pvesim: what it cannot show is a real node's certificate
// replaced by `pvecm updatecerts` (the simulator draws a new one).
func TestAChangedCertificateStopsTheRun(t *testing.T) {
	s := singleSite(t, "10.231.9.0/24")
	sim, secret := startSim(t, pvesim.Options{}, Privileges...)
	addOpenWrtDisks(sim, s)
	te := newEnv(t, s, nil)
	te.sec.Set(TokenSecret("pve"), secret)

	// The pin as an earlier collabstack wrote it.
	file := PinsFile(s.StateDir)
	old := "# TLS certificates of Proxmox VE APIs, pinned by collabstack: name address:port SHA-256.\n" +
		"# After replacing a node's certificate, remove its line; it is pinned again on the next connection.\n" +
		"pve " + sim.Addr() + " " + sim.Fingerprint() + "\n"
	os.MkdirAll(s.StateDir+"/proxmox", 0o700)
	if err := os.WriteFile(file, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	set := New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	steps := set.Steps("pve")
	if _, err := te.run(t, steps, BudgetID("pve")); err != nil {
		t.Fatalf("the pinned certificate was refused: %v", err)
	}

	if err := sim.RotateCertificate(); err != nil {
		t.Fatal(err)
	}
	before := len(sim.Requests())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A new session, as on the next apply: the API is connected again.
	set = New(s, s.StateDir, Options{APIURL: map[string]string{"pve": sim.URL}, SkipHostSetup: true, WriteSnippet: snippetsTo(sim)})
	steps = set.Steps("pve")
	plan := engine.NewPlan()
	have := map[string]bool{}
	for _, st := range steps {
		have[st.ID()] = true
	}
	for _, st := range steps {
		for _, n := range st.After() {
			if !have[n] {
				have[n] = true
				plan.MustAdd(&engine.Func{StepID: n, Name: n})
			}
		}
	}
	plan.MustAdd(steps...)
	sum, err := (&engine.Runner{Plan: plan, Hosts: te.inv, Secrets: te.sec}).Run(ctx)
	var mismatch *CertMismatchError
	if !errors.As(err, &mismatch) || !errors.Is(err, pins.ErrChanged) {
		t.Fatalf("the run after the certificate changed ended with %v", err)
	}
	if mismatch.Got != sim.Fingerprint() || mismatch.File != file {
		t.Errorf("mismatch %+v", mismatch)
	}
	for _, w := range []string{"has changed", "pvenode cert info", "remove the line starting with \"pve " + sim.Addr() + "\"", file} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	if sum.Failed != 1 || sum.Blocked != len(steps)-1 || sum.Changed != 0 {
		t.Errorf("summary %+v: want the first API step failed and the %d others blocked", sum, len(steps)-1)
	}
	if after := len(sim.Requests()); after != before {
		t.Errorf("%d requests reached the API after its certificate changed", after-before)
	}
	if data, _ := os.ReadFile(file); string(data) != old {
		t.Errorf("the pins file changed:\n%s", data)
	}
}
