package kopnik

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"text/template"

	"github.com/collabstack/collabstack/steps/acme"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
	"github.com/collabstack/collabstack/templates"
)

// StackName is the swarm stack's name.
const StackName = "kopnik"

// Render renders the stack file and nginx.conf for a site.
func Render(s *site.Site, o Options) (swarm.Stack, error) {
	p := pathsOf(s)
	imgs := map[string]string{"node": o.NodeImage}
	for k, v := range Images {
		imgs[k] = v
	}
	data := map[string]any{
		"Domain": s.Domain, "Images": imgs, "StartCommand": o.StartCommand,
		"ServerDir": p.ServerDir, "ClientDir": p.ClientDir, "TLSDir": p.TLSDir, "Webroot": acme.Webroot,
		"VisualizerPort": o.VisualizerPort,
	}
	conf, err := render("kopnik/nginx.conf.tmpl", data)
	if err != nil {
		return swarm.Stack{}, err
	}
	sum := sha256.Sum256(conf)
	data["NginxHash"] = hex.EncodeToString(sum[:])[:12]
	stack, err := render("kopnik/stack.yaml.tmpl", data)
	if err != nil {
		return swarm.Stack{}, err
	}
	return swarm.Stack{Name: StackName, Files: map[string][]byte{"stack.yaml": stack, "nginx.conf": conf}}, nil
}

func render(name string, data any) ([]byte, error) {
	src, err := templates.FS.ReadFile(name)
	if err != nil {
		return nil, err
	}
	t, err := template.New(name).Option("missingkey=error").Parse(string(src))
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}
