package swarm

import (
	"sort"

	"go.yaml.in/yaml/v3"
)

// ServiceNames lists the services a compose file defines, sorted.
func ServiceNames(compose []byte) []string {
	var doc struct {
		Services map[string]yaml.Node `yaml:"services"`
	}
	if yaml.Unmarshal(compose, &doc) != nil {
		return nil
	}
	names := make([]string, 0, len(doc.Services))
	for n := range doc.Services {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
