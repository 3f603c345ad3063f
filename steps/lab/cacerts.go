package lab

import (
	"os"
	"path/filepath"
	"sort"
)

// ExtraCADir is where Debian keeps a machine's own CA certificates
// (update-ca-certificates adds them to the system bundle).
const ExtraCADir = "/usr/local/share/ca-certificates"

// extraCAs returns the extra CA certificates of the machine that runs
// collabstack (ExtraCADir/*.crt), by file name. Behind a TLS-inspecting
// proxy that machine trusts the proxy's CA there; lab nodes get the same
// certificates so apt, npm and image pulls inside them work too. They are
// public certificates, no secret.
func extraCAs() map[string][]byte {
	names, _ := filepath.Glob(filepath.Join(ExtraCADir, "*.crt"))
	more, _ := filepath.Glob(filepath.Join(ExtraCADir, "*", "*.crt"))
	names = append(names, more...)
	sort.Strings(names)
	out := map[string][]byte{}
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil || len(data) == 0 {
			continue
		}
		rel, _ := filepath.Rel(ExtraCADir, n)
		out[rel] = data
	}
	return out
}
