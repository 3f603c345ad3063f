package templates

import (
	"strings"
	"testing"
)

// Metadata is read strictly: a key the reader does not know is an error
// naming the file, so a misspelt pin cannot be skipped silently.
func TestReadYAMLIsStrict(t *testing.T) {
	var ok struct {
		Images map[string]string `yaml:"images"`
	}
	if err := ReadYAML("swarm/images.yaml", &ok); err != nil || len(ok.Images) == 0 {
		t.Fatalf("images: %v, %v", ok.Images, err)
	}
	var other struct {
		Pins map[string]string `yaml:"pins"`
	}
	err := ReadYAML("swarm/images.yaml", &other)
	if err == nil || !strings.Contains(err.Error(), "templates/swarm/images.yaml") || !strings.Contains(err.Error(), "images") {
		t.Errorf("an unknown key gave %v", err)
	}
	if err := ReadYAML("swarm/missing.yaml", &ok); err == nil {
		t.Error("a missing file gave no error")
	}
}
