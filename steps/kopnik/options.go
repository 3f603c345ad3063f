// Package kopnik deploys the kopnik.org preset (seed 002) as one swarm
// stack: Postgres, a send-only SMTP relay, Crossbar, the node kp-server
// and its file server, and nginx serving the built kp-client.
//
// What the sources need was read from them (github.com/alexey-baranov):
//   - kp-server@e388d17 (master): cfg/index.js merges cfg/main.json with
//     cfg/private.json and takes the section named by NODE_ENV; main.json
//     has no production section, so the production config is ours to
//     write (cfg/private.json). package.json's `server` script is
//     babel-node from devDependencies (babel-cli); src/file-server.index.js
//     listens on config["file-server"].port (8484) for /upload and
//     /download; src/Server.js logs in to Crossbar with ticket
//     config.server.username/password in realm kopa; src/Mailer.js sends
//     from config.SMTP.from through config.SMTP.host:25; src/init.js
//     drops every table and seeds test users with known passwords.
//   - kp-server@v2 (c34235e): an express REST API on config.server.port
//     8080 (cfg/main.js), WAMP no longer its entry point.
//   - kp-client@c96b3fa: cfg/main.js requires the gitignored cfg/private.js
//     and its production section points at wss://kopnik.org; the Crossbar
//     config is .crossbar/config.json, whose authenticator.py imports
//     psycopg2cffi and reads ../../kp-sequelizejs/cfg/{main,private}.json
//     by NODE_ENV.
//   - kp-server-vagrant: Node v7.7.2 through nvm (bootstrap.sh).
package kopnik

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/collabstack/collabstack/steps/layout"
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
	// ServerRef and ClientRef are commits by default; a branch or tag
	// only when the site file names one (it then follows that branch
	// when the sources are fetched again).
	ServerRef  string
	ClientRepo string
	ClientRef  string
	// StartCommand starts kp-server in its container. Seed 002 says `npm
	// run server:production`, a script no version of kp-server has; the
	// default is package.json's `server` script without its debugger port.
	StartCommand string
	// FileServerCommand starts the file server (uploads and downloads);
	// empty: no file server (a fork without one).
	FileServerCommand string
	// FileServerPort is the port it listens on (config["file-server"].port).
	FileServerPort int
	// APIPort is where the server answers HTTP for /api; 0: the version
	// has no HTTP API (master) and nginx answers /api with 404.
	APIPort int
	// InstallCommand installs the server's and the client's dependencies
	// in a throwaway container; devDependencies included, since the start
	// command is babel-node from them.
	InstallCommand string
	// InitCommand initialises the database schema once; empty: the
	// built-in schema-only initialisation (tables and stored functions,
	// no test data).
	InitCommand string
	// NodeImage is the image the server runs in and the client is built in.
	NodeImage string
	// NPMVersion is the oldest npm that installs the dependencies: when
	// the image's own npm is older, this version (from npm's registry)
	// runs the install command, on the image's Node. node:7.7.2 ships npm
	// 4.1.2, which ignores package-lock.json and takes today's newest
	// version in every range; empty: the image's npm, whatever it is.
	NPMVersion string
	// Visualizer turns on the swarm visualizer (off by default: it reads
	// the Docker API). It is then reached only through an SSH tunnel to
	// the manager's loopback port VisualizerPort.
	Visualizer     bool
	VisualizerPort int
}

// Pinned commits of the upstream sources (read 2026-12-02).
const (
	ServerCommit = "e388d1722501fb0ff76333c2e066b86197254e30" // kp-server master "pass test"
	ClientCommit = "c96b3fa7ca3689acdb40dbb3373f6813801ffbf9" // kp-client master "fix zaglushka"
)

// Defaults of the options.
var defaults = Options{
	ServerRepo:        "https://github.com/alexey-baranov/kp-server.git",
	ServerRef:         ServerCommit,
	ClientRepo:        "https://github.com/alexey-baranov/kp-client.git",
	ClientRef:         ClientCommit,
	StartCommand:      "./node_modules/babel-cli/bin/babel-node.js --use-strict ./src/index.js",
	FileServerCommand: "./node_modules/babel-cli/bin/babel-node.js --use-strict ./src/file-server.index.js",
	FileServerPort:    8484,
	APIPort:           0,
	InstallCommand:    "npm install --production=false",
	NodeImage:         "node:7.7.2",
	NPMVersion:        "6.14.18",
	VisualizerPort:    8090,
}

// Images are the images of the stack, pinned.
var Images = map[string]string{
	"postgres":   "postgres:17.2",
	"smtp":       "boky/postfix:v4.3.0",
	"crossbar":   "crossbario/crossbar:cpy3-22.6.1",
	"nginx":      "nginx:1.27.3",
	"visualizer": "dockersamples/visualizer:stable",
	// The visualizer reads the Docker API only through this proxy, which
	// allows GET of nodes, services and tasks and nothing else.
	"socket-proxy": "tecnativa/docker-socket-proxy:v0.4.2",
}

var (
	commandRE    = regexp.MustCompile(`^[A-Za-z0-9_./:= @+,-]+$`)
	imageRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$`)
	npmVersionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	refRE        = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
)

// ParseOptions reads the component's options with their defaults; an
// unknown or malformed option is an error naming it and the fix.
func ParseOptions(raw map[string]any) (Options, error) {
	o := defaults
	field := func(k string) string { return "components.kopnik.options." + k }
	port := func(k string, v any, zero bool) (int, error) {
		n, ok := v.(int)
		if !ok || n > 65535 || n < 0 || (n == 0 && !zero) {
			return 0, fmt.Errorf("%s: %v is not a TCP port (1-65535)", field(k), v)
		}
		return n, nil
	}
	var err error
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
		case "file_server_command":
			o.FileServerCommand = s
		case "install_command":
			o.InstallCommand = s
		case "init_command":
			o.InitCommand = s
		case "node_image":
			o.NodeImage = s
		case "npm_version":
			o.NPMVersion = s
			if v == nil {
				o.NPMVersion = ""
			}
		case "file_server_port":
			if o.FileServerPort, err = port(k, v, false); err != nil {
				return o, err
			}
		case "api_port":
			if o.APIPort, err = port(k, v, true); err != nil {
				return o, err
			}
		case "visualizer":
			b, ok := v.(bool)
			if !ok {
				return o, fmt.Errorf("%s: %v is not true or false", field(k), v)
			}
			o.Visualizer = b
		case "visualizer_port":
			if o.VisualizerPort, err = port(k, v, false); err != nil {
				return o, err
			}
		default:
			return o, fmt.Errorf("%s: unknown option; use server_repo, server_ref, client_repo, client_ref, start_command, file_server_command, file_server_port, api_port, install_command, init_command, node_image, npm_version, visualizer or visualizer_port", field(k))
		}
	}
	for k, c := range map[string]string{"start_command": o.StartCommand, "file_server_command": o.FileServerCommand, "install_command": o.InstallCommand, "init_command": o.InitCommand} {
		if c != "" && !commandRE.MatchString(c) {
			return o, fmt.Errorf("%s: %q: use letters, digits, spaces and . / _ - : = @ + , only (no quotes, pipes or $)", field(k), c)
		}
	}
	if o.StartCommand == "" || o.InstallCommand == "" {
		return o, fmt.Errorf("%s: empty; leave the option out for the default", field(map[bool]string{true: "start_command", false: "install_command"}[o.StartCommand == ""]))
	}
	if !imageRE.MatchString(o.NodeImage) {
		return o, fmt.Errorf("%s: %q is not an image reference such as node:7.7.2", field("node_image"), o.NodeImage)
	}
	if o.NPMVersion != "" && !npmVersionRE.MatchString(o.NPMVersion) {
		return o, fmt.Errorf("%s: %q is not an npm version such as 6.14.18 (empty: the image's own npm)", field("npm_version"), o.NPMVersion)
	}
	for k, r := range map[string]string{"server_ref": o.ServerRef, "client_ref": o.ClientRef} {
		if !refRE.MatchString(r) || strings.Contains(r, "..") {
			return o, fmt.Errorf("%s: %q is not a commit, branch or tag name", field(k), r)
		}
	}
	for k, r := range map[string]string{"server_repo": o.ServerRepo, "client_repo": o.ClientRepo} {
		if r == "" || strings.ContainsAny(r, "\n\x00") || strings.HasPrefix(r, "-") {
			return o, fmt.Errorf("%s: %q is not a git URL or a local path", field(k), r)
		}
	}
	if o.APIPort != 0 && o.APIPort == o.FileServerPort {
		return o, fmt.Errorf("%s: %d is the file server's port too; give one of them another", field("api_port"), o.APIPort)
	}
	return o, nil
}

// Users the containers run as; the sources on the host are owned by them.
const (
	// NodeUID is the `node` user of the official node images.
	NodeUID = 1000
)

// Paths on the manager.
type paths struct {
	ServerDir, ClientDir, TLSDir string
}

func pathsOf(s *site.Site) paths {
	return paths{
		ServerDir: s.Prepare.SFTPRoot + "/kp-server",
		// Seed 002 reads Crossbar's config from <sftp>/kp-client/.crossbar.
		ClientDir: s.Prepare.SFTPRoot + "/kp-client",
		TLSDir:    layout.Root + "/tls/kopnik",
	}
}
