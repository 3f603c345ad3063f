// Package examples holds the commented example site files that
// `collabstack init --topology NAME` prints; each passes `validate`.
package examples

import (
	"embed"
	"fmt"
)

//go:embed *.yaml
var files embed.FS

// Site returns the example site file of a topology.
func Site(topology string) ([]byte, error) {
	data, err := files.ReadFile(topology + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no example for topology %q: use lab, kopnik, single or full", topology)
	}
	return data, nil
}
