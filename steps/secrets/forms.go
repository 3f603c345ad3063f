package secrets

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
)

// minForm is the shortest derived form the redactor replaces: shorter
// fragments would match ordinary text.
const minForm = 8

// Forms returns a secret and the forms it travels in besides itself:
// hex (both cases), URL-encoded, and base64 (standard and URL alphabets)
// at each of the three alignments it can have inside a longer encoded
// text, so "user:password" encoded whole (a registry auth blob, an HTTP
// Basic header) is caught by the part that only the password determines.
func Forms(secret string) []string {
	if len(secret) < 4 {
		return nil
	}
	out := []string{secret}
	add := func(f string) {
		if len(f) < minForm {
			return
		}
		for _, o := range out {
			if o == f {
				return
			}
		}
		out = append(out, f)
	}
	h := hex.EncodeToString([]byte(secret))
	add(h)
	add(strings.ToUpper(h))
	add(url.QueryEscape(secret))
	add(url.PathEscape(secret))
	for offset := 0; offset < 3; offset++ {
		buf := append(make([]byte, offset), secret...)
		enc := base64.StdEncoding.EncodeToString(buf)
		// Characters whose 6 bits come from the secret alone.
		start := (8*offset + 5) / 6
		end := 8 * len(buf) / 6
		if end-start < minForm {
			continue
		}
		core := enc[start:end]
		add(core)
		add(strings.NewReplacer("+", "-", "/", "_").Replace(core))
	}
	return out
}

// swarmToken matches Docker Swarm join tokens, which dockerd prints
// (docker swarm init, join-token) before collabstack can store them.
var swarmToken = regexp.MustCompile(`SWMTKN-1-[0-9a-z]{20,}-[0-9a-z]{10,}`)

// redactPatterns replaces secrets recognised by their shape.
func redactPatterns(s string) string {
	if !strings.Contains(s, "SWMTKN-") {
		return s
	}
	return swarmToken.ReplaceAllString(s, "[redacted]")
}
