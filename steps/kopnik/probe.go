package kopnik

import (
	"github.com/collabstack/collabstack/steps/health"
	"github.com/collabstack/collabstack/steps/site"
)

// ProbeID is the step that checks kopnik as a user would, once its
// schema is there.
const ProbeID = "kopnik/probe"

// Probes are how a user sees kopnik working, through its nginx on the
// manager with the site's name: / serves the built kp-client, /api gets
// an answer below 500 (kp-server's API, or nginx's 404 for a version
// without one: never a 502 from a missing backend), and /ws upgrades to
// a WAMP websocket on Crossbar (101).
func Probes(s *site.Site) []health.Probe {
	return []health.Probe{
		health.HTTP(s.Domain, 443, "/", 200, ""),
		health.HTTP(s.Domain, 443, "/api", 0, ""),
		health.WS(s.Domain, 443, "/ws", "wamp.2.json"),
	}
}
