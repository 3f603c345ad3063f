// Package kopnik deploys the kopnik.org preset (seed 002) as one swarm
// stack: Postgres, a send-only SMTP relay, Crossbar, the node kp-server,
// nginx serving the built kp-client, and the swarm visualizer.
package kopnik

import (
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/site"
)

// Component is the site file's component name.
const Component = "kopnik"

// Options are components.kopnik.options of the site file.
type Options struct {
	// ServerRepo and ClientRepo are git URLs, or paths of local git
	// repositories on this machine (uploaded as a git bundle: no network
	// needed on the host).
	ServerRepo string
	ServerRef  string
	ClientRepo string
	ClientRef  string
	// StartCommand starts kp-server in its container. Seed 002 says `npm
	// run server:production`, a script no version of kp-server has; the
	// upstream package.json has `npm start`.
	StartCommand string
	// NodeImage is the image the server runs in.
	NodeImage      string
	VisualizerPort int
}

// Defaults of the options.
var defaults = Options{
	ServerRepo:     "https://github.com/alexey-baranov/kp-server.git",
	ServerRef:      "master",
	ClientRepo:     "https://github.com/alexey-baranov/kp-client.git",
	ClientRef:      "master",
	StartCommand:   "npm start",
	NodeImage:      "node:22.12.0",
	VisualizerPort: 8090,
}

// Images are the images of the stack, pinned.
var Images = map[string]string{
	"postgres":   "postgres:17.2",
	"smtp":       "boky/postfix:v4.3.0",
	"crossbar":   "crossbario/crossbar:cpy3-22.6.1",
	"nginx":      "nginx:1.27.3",
	"visualizer": "dockersamples/visualizer:stable",
}

// ParseOptions reads the component's options with their defaults; an
// unknown option is an error naming it.
func ParseOptions(raw map[string]any) (Options, error) {
	o := defaults
	for k, v := range raw {
		s := fmt.Sprint(v)
		switch k {
		case "server_repo":
			o.ServerRepo = s
		case "server_ref":
			o.ServerRef = s
		case "client_repo":
			o.ClientRepo = s
		case "client_ref":
			o.ClientRef = s
		case "start_command":
			o.StartCommand = s
		case "node_image":
			o.NodeImage = s
		case "visualizer_port":
			n, ok := v.(int)
			if !ok || n < 1 || n > 65535 {
				return o, fmt.Errorf("components.kopnik.options.visualizer_port: %v is not a TCP port", v)
			}
			o.VisualizerPort = n
		default:
			return o, fmt.Errorf("components.kopnik.options.%s: unknown option; use server_repo, server_ref, client_repo, client_ref, start_command, node_image or visualizer_port", k)
		}
	}
	if strings.ContainsAny(o.StartCommand, "\"\n") {
		return o, fmt.Errorf("components.kopnik.options.start_command: no double quotes or newlines, please")
	}
	return o, nil
}

// Paths on the manager.
type paths struct {
	ServerDir, ClientDir, TLSDir string
}

func pathsOf(s *site.Site) paths {
	return paths{
		ServerDir: s.Prepare.SFTPRoot + "/kp-server",
		// Seed 002 reads Crossbar's config from <sftp>/kp-client/.crossbar.
		ClientDir: s.Prepare.SFTPRoot + "/kp-client",
		TLSDir:    "/var/lib/collabstack/tls/kopnik",
	}
}
