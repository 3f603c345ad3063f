package kopnik

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"

	"golang.org/x/crypto/bcrypt"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
	"github.com/collabstack/collabstack/templates"
)

// StackName is the swarm stack's name.
const StackName = "kopnik"

// Secret names in the secrets file.
const (
	// DBPasswordSecret is the database password (also a swarm secret).
	DBPasswordSecret = "kopnik-db-password"
	// ServerPasswordSecret is the ticket kp-server logs in to Crossbar
	// with (config.server.password, checked by authenticator.py).
	ServerPasswordSecret = "kopnik-server-ticket"
	// VAPIDSecret is the private key of the web push (VAPID) key pair.
	VAPIDSecret = "kopnik-vapid-private-key"
	// VisualizerSecret is the visualizer's password (user admin).
	VisualizerSecretName = "kopnik-visualizer-password"
)

// Config is kp-server's production configuration as it is rendered.
type Config struct {
	// JSON is cfg/private.json.
	JSON []byte
	// Secret is the name of the swarm secret holding it: the version of
	// this content (swarm.VersionedName, under the site's key).
	Secret string
	// DBSecret and VisualizerSecret are the swarm names of the current
	// versions of the database and visualizer passwords (Secrets).
	DBSecret, VisualizerSecret string
}

// Swarm secret bases (their versions are <base>_<version>).
const (
	ServerConfigBase = "kopnik_server_config"
	DBSecretBase     = "kopnik_db_password"
	VisualizerBase   = "kopnik_visualizer_htpasswd"
)

// DBSecret is the database password as a swarm secret: PostgreSQL reads
// POSTGRES_PASSWORD_FILE only when it initialises its data, and the
// password is also in kp-server's config, so a changed value is refused.
func DBSecret(st *secrets.Store) (swarm.Secret, error) {
	pw, err := st.Password(DBPasswordSecret, 32)
	if err != nil {
		return swarm.Secret{}, err
	}
	return swarm.Secret{Base: DBSecretBase, Value: []byte(pw), Source: DBPasswordSecret, Fixed: true,
		Why: "PostgreSQL keeps the password kopnik's database was created with"}, nil
}

// VisualizerSecret is the visualizer's htpasswd file as a swarm secret:
// its version follows the password (the bcrypt line's salt changes at
// every call); nginx reads the file at its start, so a new password
// rotates.
func VisualizerSecret(st *secrets.Store) (swarm.Secret, error) {
	pw, err := st.Password(VisualizerSecretName, 24)
	if err != nil {
		return swarm.Secret{}, err
	}
	return swarm.Secret{Base: VisualizerBase, Value: []byte(pw), Source: VisualizerSecretName,
		Content: func() ([]byte, error) {
			hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
			if err != nil {
				return nil, err
			}
			return []byte("admin:" + string(hash) + "\n"), nil
		}}, nil
}

// ServerConfig renders kp-server's cfg/private.json from the site and
// its secrets (generated on first use).
func ServerConfig(s *site.Site, o Options, st *secrets.Store) (Config, error) {
	dbpw, err := st.Password(DBPasswordSecret, 32)
	if err != nil {
		return Config{}, err
	}
	ticket, err := st.Password(ServerPasswordSecret, 32)
	if err != nil {
		return Config{}, err
	}
	pub, priv, err := vapidKeys(st)
	if err != nil {
		return Config{}, err
	}
	data := map[string]any{
		"DBUser": "kopnik", "DBName": "kopnik", "DBPassword": dbpw, "ServerPassword": ticket,
		"FileServerPort": o.FileServerPort, "Sender": Sender(s),
		"VAPIDPublic": pub, "VAPIDPrivate": priv,
	}
	out, err := render("kopnik/server-private.json.tmpl", data)
	if err != nil {
		return Config{}, err
	}
	var check map[string]any
	if err := json.Unmarshal(out, &check); err != nil {
		return Config{}, fmt.Errorf("kopnik/server-private.json.tmpl renders no JSON: %w", err)
	}
	key, err := st.Password(swarm.VersionKeySecret, 32)
	if err != nil {
		return Config{}, err
	}
	db, err := DBSecret(st)
	if err != nil {
		return Config{}, err
	}
	cfg := Config{JSON: out, Secret: swarm.VersionedName(key, ServerConfigBase, out), DBSecret: db.Name(key)}
	if o.Visualizer {
		v, err := VisualizerSecret(st)
		if err != nil {
			return Config{}, err
		}
		cfg.VisualizerSecret = v.Name(key)
	}
	return cfg, nil
}

// Sender is the address kp-server sends mail from: in the site's domain,
// which the relay accepts (upstream's noreply@kopnik.org it refuses).
func Sender(s *site.Site) string { return "noreply@" + s.Domain }

// ClientConfig renders kp-client's cfg/private.js: the client talks to
// this site's domain for WAMP and files.
func ClientConfig(s *site.Site) ([]byte, error) {
	return render("kopnik/client-private.js.tmpl", map[string]any{"Domain": s.Domain})
}

// vapidKeys returns the web push key pair (base64url, as web-push wants
// them), generating the private key into the secrets file on first use.
func vapidKeys(st *secrets.Store) (pub, priv string, err error) {
	enc := base64.RawURLEncoding
	if v, ok := st.Get(VAPIDSecret); ok {
		raw, err := enc.DecodeString(v)
		if err != nil {
			return "", "", fmt.Errorf("secret %s is not a base64url P-256 key: %w", VAPIDSecret, err)
		}
		k, err := ecdh.P256().NewPrivateKey(raw)
		if err != nil {
			return "", "", fmt.Errorf("secret %s: %w", VAPIDSecret, err)
		}
		return enc.EncodeToString(k.PublicKey().Bytes()), v, nil
	}
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	priv = enc.EncodeToString(k.Bytes())
	if err := st.Set(VAPIDSecret, priv); err != nil {
		return "", "", err
	}
	return enc.EncodeToString(k.PublicKey().Bytes()), priv, nil
}

// CrossbarImage is the tag of the Crossbar image collabstack builds on
// the manager from the upstream one plus what the authenticator imports;
// it names the build context's content.
func CrossbarImage() (string, error) {
	ctx, err := crossbarContext()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	h.Write([]byte(Images["crossbar"]))
	names := make([]string, 0, len(ctx))
	for n := range ctx {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(h, "\x00%s\x00", n)
		h.Write(ctx[n])
	}
	return "collabstack/kopnik-crossbar:" + hex.EncodeToString(h.Sum(nil))[:12], nil
}

// crossbarContext is the build context of the Crossbar image
// (templates/kopnik/crossbar), path -> content.
func crossbarContext() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(templates.FS, "kopnik/crossbar", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := templates.FS.ReadFile(p)
		if err != nil {
			return err
		}
		rel := p[len("kopnik/crossbar/"):]
		out[path.Clean(rel)] = data
		return nil
	})
	return out, err
}

// Render renders the stack file and nginx.conf for a site; cfg is
// kp-server's configuration (ServerConfig), whose secret the stack names.
func Render(s *site.Site, o Options, cfg Config) (swarm.Stack, error) {
	p := pathsOf(s)
	imgs := map[string]string{"node": o.NodeImage}
	for k, v := range Images {
		imgs[k] = v
	}
	crossbar, err := CrossbarImage()
	if err != nil {
		return swarm.Stack{}, err
	}
	data := map[string]any{
		"Domain": s.Domain, "Images": imgs, "CrossbarImage": crossbar, "Sender": Sender(s),
		"StartCommand": o.StartCommand, "FileServerCommand": o.FileServerCommand,
		"FileServer": o.FileServerCommand != "", "FileServerPort": o.FileServerPort, "APIPort": o.APIPort,
		"NodeUID": NodeUID, "ServerConfigSecret": cfg.Secret, "DBSecret": cfg.DBSecret, "VisualizerSecret": cfg.VisualizerSecret,
		"ServerDir": p.ServerDir, "ClientDir": p.ClientDir, "TLSDir": p.TLSDir, "Webroot": acme.Webroot,
		"Visualizer": o.Visualizer, "VisualizerPort": o.VisualizerPort,
	}
	conf, err := render("kopnik/nginx.conf.tmpl", data)
	if err != nil {
		return swarm.Stack{}, err
	}
	data["NginxHash"] = shortHash(conf)
	stack, err := render("kopnik/stack.yaml.tmpl", data)
	if err != nil {
		return swarm.Stack{}, err
	}
	return swarm.Stack{Name: StackName, Files: map[string][]byte{"stack.yaml": stack, "nginx.conf": conf}}, nil
}

func shortHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])[:12]
}

// render renders a kopnik template through the one loader: json for
// the JSON and JavaScript configs, compose for the stack, nginx for the
// vhost (templates/render.go).
func render(name string, data any) ([]byte, error) {
	return templates.Render(name, data, nil)
}
