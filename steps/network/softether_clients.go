package network

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/atomicfile"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/site"
)

// ClientsDir is where the client bundles go: one folder per VPN user.
func ClientsDir(stateDir string) string { return filepath.Join(stateDir, "vpn-clients") }

// bundle is one user's files, by name.
type bundle map[string][]byte

// serverCA asks the server for its OpenVPN sample profile and returns
// the certificate between <ca> and </ca>.
func (v vpncmd) serverCA(ctx context.Context, env *engine.Env, password string) (string, error) {
	_, data, err := v.runFetch(ctx, env.Host, password, []string{"OpenVpnMakeConfig ovpn.zip"}, "ovpn.zip")
	if err != nil {
		return "", fmt.Errorf("make the OpenVPN profile on %s: %w", env.Host.Name(), err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("read the OpenVPN profiles from %s: %w", env.Host.Name(), err)
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "_remote_access_l3.ovpn") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return "", err
		}
		text, err := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		if err != nil {
			return "", err
		}
		_, after, ok := strings.Cut(string(text), "<ca>")
		ca, _, ok2 := strings.Cut(after, "</ca>")
		if !ok || !ok2 {
			break
		}
		return strings.TrimSpace(strings.ReplaceAll(ca, "\r", "")), nil
	}
	return "", fmt.Errorf("the OpenVPN profile from %s has no <ca> certificate", env.Host.Name())
}

// bundles renders every user's client bundle.
func bundles(env *engine.Env, s *site.Site, o SoftEtherOptions, ca string) (map[string]bundle, error) {
	_, passwords, err := wantUsers(env, s)
	if err != nil {
		return nil, err
	}
	psk := ""
	if !o.NoL2TP {
		if psk, err = env.Secrets.Password(SoftEtherPSKSecret, 16); err != nil {
			return nil, err
		}
	}
	out := map[string]bundle{}
	for u, pw := range passwords {
		data := map[string]any{"User": u, "Site": s.Domain, "Remote": o.PublicHost, "Port": 1194, "CA": ca,
			"Login": u + "@" + o.Hub, "Password": pw, "PSK": psk, "L2TP": !o.NoL2TP}
		b := bundle{}
		files := map[string]string{"README.txt": "softether/readme.txt.tmpl", "login.txt": "softether/login.txt.tmpl"}
		if !o.NoOpenVPN {
			files["openvpn.ovpn"] = "softether/openvpn.ovpn.tmpl"
		}
		if !o.NoL2TP {
			files["l2tp.txt"] = "softether/l2tp.txt.tmpl"
		}
		for name, tmpl := range files {
			if b[name], err = render(tmpl, data); err != nil {
				return nil, err
			}
		}
		out[u] = b
	}
	return out, nil
}

// bundlesDiffer lists what differs between the wanted bundles and the
// folder: missing or changed files, and folders of users no longer in the
// site.
func bundlesDiffer(dir string, want map[string]bundle) ([]string, error) {
	var diff []string
	for u, b := range want {
		for name, data := range b {
			p := filepath.Join(dir, u, name)
			have, err := os.ReadFile(p)
			if errors.Is(err, fs.ErrNotExist) || (err == nil && !bytes.Equal(have, data)) {
				diff = append(diff, p)
				continue
			}
			if err != nil {
				return nil, err
			}
			if st, err := os.Stat(p); err == nil && st.Mode().Perm() != 0o600 {
				diff = append(diff, p)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok && e.IsDir() {
			diff = append(diff, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(diff)
	return diff, nil
}

func writeBundles(dir string, want map[string]bundle) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	for u, b := range want {
		ud := filepath.Join(dir, u)
		if err := os.MkdirAll(ud, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(ud, 0o700); err != nil {
			return err
		}
		for name, data := range b {
			if err := atomicfile.Write(filepath.Join(ud, name), data, 0o600); err != nil {
				return err
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok && e.IsDir() {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func clientsStep(s *site.Site, vpnHost, stateDir string, o SoftEtherOptions, v vpncmd, id string, needs []string) engine.Step {
	dir := ClientsDir(stateDir)
	want := func(ctx context.Context, env *engine.Env) (map[string]bundle, error) {
		if stateDir == "" {
			return nil, fmt.Errorf("no state folder to write the VPN client bundles to")
		}
		pw, err := env.Secrets.Password(SoftEtherAdminSecret, 24)
		if err != nil {
			return nil, err
		}
		ca := ""
		if !o.NoOpenVPN {
			if ca, err = v.serverCA(ctx, env, pw); err != nil {
				return nil, err
			}
		}
		return bundles(env, s, o, ca)
	}
	return &engine.Func{
		StepID: id, Name: "Write the VPN client bundles to " + dir, On: vpnHost, Comp: Component, Needs: needs,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			b, err := want(ctx, env)
			if err != nil {
				return false, err
			}
			diff, err := bundlesDiffer(dir, b)
			return err == nil && len(diff) == 0, err
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			b, err := want(ctx, env)
			if err != nil {
				return err
			}
			if err := writeBundles(dir, b); err != nil {
				return engine.WithHint(fmt.Errorf("write the VPN client bundles: %w", err), "check that %s is writable", dir)
			}
			env.Logf("VPN client bundles for %d user(s) are in %s", len(b), dir)
			return nil
		},
	}
}
