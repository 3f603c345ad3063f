package install

import (
	"strings"
	"testing"

	"github.com/collabstack/collabstack/steps/health"
)

func TestJudgeTurnsAStackIntoAComponentsHealth(t *testing.T) {
	probes := []health.Probe{health.HTTP("pad.x.test", 443, "/", 200, "Etherpad")}
	ok, err := health.Parse("etherpad", "S\tetherpad_etherpad\treplicated\t1/1\nT\ta\tetherpad_etherpad.1\tlab-2\tRunning\tRunning 2 hours ago\t\n"+
		"T\tb\tetherpad_etherpad.1\tlab-2\tShutdown\tFailed 10 minutes ago\ttask: non-zero exit (1)\nP\t0\tok\tHTTP 200\n", probes)
	if err != nil {
		t.Fatal(err)
	}
	c := Judge("etherpad", ok)
	if !c.Healthy || !c.Deployed || len(c.Services) != 1 || c.Services[0].Restarts != 1 || !c.Probes[0].OK || c.Probes[0].URL != "https://pad.x.test/" {
		t.Errorf("healthy etherpad: %+v", c)
	}
	bad, _ := health.Parse("etherpad", "S\tetherpad_etherpad\treplicated\t1/1\nT\ta\tetherpad_etherpad.1\tlab-2\tRunning\tRunning 2 hours ago\t\nP\t0\tfail\tHTTP 500 instead of 200: oops\n", probes)
	if c := Judge("etherpad", bad); c.Healthy || !strings.Contains(c.Problem, "HTTP 500") {
		t.Errorf("etherpad answering 500: %+v", c)
	}
	gone, _ := health.Parse("etherpad", "", probes)
	if c := Judge("etherpad", gone); c.Healthy || c.Deployed || !strings.Contains(c.Problem, "not deployed") {
		t.Errorf("etherpad not deployed: %+v", c)
	}
}
