package network

import "github.com/collabstack/collabstack/templates"

// render renders templates/network/<name> with data through the one
// template loader (uci, sh and the other escapers); extra names are
// parsed alongside so the main template can call them.
func render(name string, data any, extra ...string) ([]byte, error) {
	also := make([]string, len(extra))
	for i, n := range extra {
		also[i] = "network/" + n
	}
	t, err := templates.Parse(nil, "network/"+name, nil, also...)
	if err != nil {
		return nil, err
	}
	return templates.Execute(t, data)
}
