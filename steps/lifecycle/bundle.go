package lifecycle

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Bundle is a support bundle being put together: every file added passes
// through the site's redactor first, so nothing a helper reads holds a
// secret of the site.
type Bundle struct {
	redact func(string) string
	now    time.Time
	names  []string
	files  map[string][]byte
}

// NewBundle starts a bundle whose every file is redacted by redact.
func NewBundle(redact func(string) string, now time.Time) *Bundle {
	return &Bundle{redact: redact, now: now, files: map[string][]byte{}}
}

// Add puts a file into the bundle, redacted. A name added twice gets the
// text appended.
func (b *Bundle) Add(name string, data []byte) {
	text := b.redact(string(data))
	if _, ok := b.files[name]; !ok {
		b.names = append(b.names, name)
	}
	b.files[name] = append(b.files[name], text...)
}

// Addf appends a formatted line to a file of the bundle.
func (b *Bundle) Addf(name, format string, args ...any) {
	b.Add(name, []byte(fmt.Sprintf(format, args...)+"\n"))
}

// Names lists the files of the bundle in the order they were added.
func (b *Bundle) Names() []string { return append([]string(nil), b.names...) }

// File returns a file of the bundle (redacted).
func (b *Bundle) File(name string) ([]byte, bool) {
	d, ok := b.files[name]
	return d, ok
}

// WriteTo writes the bundle as a gzip'd tar under the folder prefix.
func (b *Bundle) WriteTo(w io.Writer, prefix string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, n := range b.names {
		d := b.files[n]
		if err := tw.WriteHeader(&tar.Header{Name: prefix + "/" + n, Mode: 0o600, Size: int64(len(d)), ModTime: b.now, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(d); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// secretKey matches keys whose values are secrets when someone writes one
// into a site file by mistake (a password instead of a password_ref).
var secretKey = regexp.MustCompile(`(?i)(password|passwd|secret|token|api_?key|private_?key)$`)

// ScrubSite returns the site file with every value under a key that
// names a secret replaced (password_ref and key_file name secrets, they
// do not hold them, and stay). Comments and order stay as they are.
func ScrubSite(data []byte) []byte {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []byte("# the site file did not parse as YAML, so it is left out (" + err.Error() + ")\n")
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if secretKey.MatchString(k.Value) && v.Kind == yaml.ScalarNode && v.Value != "" {
					v.Value, v.Tag, v.Style = "[removed]", "!!str", 0
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return []byte("# the site file could not be written back, so it is left out\n")
	}
	return out
}

// Readme describes a bundle's files for whoever opens it.
func Readme(siteName, version string, now time.Time, names []string) []byte {
	sorted := append([]string(nil), names...)
	sort.Strings(sorted)
	var b strings.Builder
	fmt.Fprintf(&b, "Support bundle of the site %q, made by collabstack %s at %s.\n\n", siteName, version, now.UTC().Format(time.RFC3339))
	b.WriteString(`Every file passed through the site's redactor: each secret of the site, and
its hex, URL and base64 forms, reads [redacted]. The secrets file itself is
not here; secrets.txt lists only the names of the secrets.

versions.txt    collabstack, Go and this machine; each host's OS and Docker are in hosts/
site.yaml       the site file, values under secret-like keys removed
secrets.txt     names of the stored secrets (never the values)
journal.jsonl   every step of every run (collabstack status reads it)
status.json     collabstack status --json, as it answered when the bundle was made
hosts/NAME.txt  each host: OS, disk, memory, Docker, failed units, swarm nodes, services, tasks, Docker's recent log
logs/NAME.txt   the recent logs of each component's services (collabstack logs NAME)
errors.txt      what could not be collected, and why

Files:
`)
	for _, n := range sorted {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	return []byte(b.String())
}
