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

// ServiceImages reads the image of every service of a compose file, by
// service name (services without one are left out).
func ServiceImages(compose []byte) map[string]string {
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if yaml.Unmarshal(compose, &doc) != nil {
		return nil
	}
	m := map[string]string{}
	for n, s := range doc.Services {
		if s.Image != "" {
			m[n] = s.Image
		}
	}
	return m
}
