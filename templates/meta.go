package templates

import (
	"bytes"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// ReadYAML decodes the metadata file templates/<name> (the image pins of
// the shared services and of the PVE VMs) into v, strictly: a key v does not know is an error
// naming the file and the line, so a misspelt pin is never ignored.
func ReadYAML(name string, v any) error {
	data, err := FS.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read templates/%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && err != io.EOF {
		return fmt.Errorf("templates/%s: %w", name, err)
	}
	return nil
}
