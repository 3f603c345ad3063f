package swarm

import (
	"sort"

	"go.yaml.in/yaml/v3"
)

// ServiceNames lists the services a compose file defines, sorted.
func ServiceNames(compose []byte) []string {
	images, err := ServiceImages(compose)
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(images))
	for n := range images {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ServiceImages reads the services of a compose file: each service's
// image by its name ("" for a service that names none).
func ServiceImages(compose []byte) (map[string]string, error) {
	var doc struct {
		Services map[string]struct {
			Image string `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(compose, &doc); err != nil {
		return nil, err
	}
	m := make(map[string]string, len(doc.Services))
	for n, s := range doc.Services {
		m[n] = s.Image
	}
	return m, nil
}
