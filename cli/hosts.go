package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/term"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/install"
	"github.com/collabstack/collabstack/steps/secrets"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/ssh"
)

func (a *app) hostsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "hosts", Short: "Work on the hosts of a site"}
	var hostKey string
	var keep bool
	addKey := &cobra.Command{
		Use:   "add-key HOST",
		Short: "Give a host that takes only a password collabstack's own SSH key",
		Long: `add-key makes an SSH key for the site (in its state directory, mode 0600)
unless it has one, logs in to HOST once with its password, adds the key to
the login user's ~/.ssh/authorized_keys (once; running it again changes
nothing), checks that the key logs in, and then writes the key into the
site file for HOST, so every later run logs in with the key.

The password is read without echo on a terminal (or as one line on
standard input) and is not stored, unless --keep-password asks to keep it
in the site's secrets file as the sudo password of a user who is not root.
A password the site file already names (auth.password_ref) is used
without asking.

On its first connection to HOST, add-key shows the host key's fingerprint
to confirm; without a terminal, give it with --host-key or host_key: in the
site file.`,
		Example: `  collabstack hosts add-key main -c collabstack.yaml
  printf '%s\n' "$PW" | collabstack hosts add-key main --host-key SHA256:…`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.addKey(cmd.Context(), args[0], hostKey, keep)
		},
	}
	a.addConfigFlag(addKey)
	addKey.Flags().StringVar(&hostKey, "host-key", "", "the SHA256 fingerprint of HOST's SSH key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host), to trust it without asking")
	addKey.Flags().BoolVar(&keep, "keep-password", false, "keep the password in the secrets file (0600) as the sudo password of a user who is not root")
	cmd.AddCommand(addKey)
	return cmd
}

func (a *app) addKey(ctx context.Context, name, hostKey string, keep bool) error {
	s, err := site.Load(a.config, nil)
	if err != nil {
		return err
	}
	var h *site.Host
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			h = &s.Hosts[i]
		}
	}
	if h == nil {
		names := make([]string, len(s.Hosts))
		for i, x := range s.Hosts {
			names[i] = x.Name
		}
		return usageError{fmt.Errorf("%s names no host %q: its hosts are %s", a.config, name, hostList(names))}
	}
	if hostKey == "" {
		hostKey = h.HostKey
	}
	if hostKey != "" && !strings.HasPrefix(hostKey, "SHA256:") {
		return usageError{fmt.Errorf("--host-key %q is not a SHA256 fingerprint: give it as ssh-keygen -lf prints it, SHA256:…", hostKey)}
	}
	if err := os.MkdirAll(s.StateDir, 0o700); err != nil {
		return err
	}
	store, err := secrets.Open(filepath.Join(s.StateDir, install.SecretsFile))
	if err != nil {
		return err
	}
	spec, _ := h.Spec(store.Get) // a password or sudo secret not set yet is asked for below
	spec.KeyFile, spec.Agent = "", false
	if h.Jump != "" {
		return usageError{fmt.Errorf("%s is reached through %s: add-key logs in to hosts reached directly; copy the key by hand (ssh-copy-id -J)", name, h.Jump)}
	}

	known, err := ssh.Open(filepath.Join(s.StateDir, install.KnownHostsFile))
	if err != nil {
		return err
	}
	if err := a.trustHost(ctx, known, *h, spec, hostKey); err != nil {
		return err
	}

	keyFile := ssh.SiteKeyPath(s.StateDir)
	if abs, err := filepath.Abs(keyFile); err == nil {
		keyFile = abs // the site file names the key wherever apply runs from
	}
	if _, err := os.Stat(keyFile); err == nil && !keep {
		// Run again: when the site's key logs in already, there is
		// nothing to ask and nothing to add.
		ks := spec
		ks.Password, ks.KeyFile = "", keyFile
		if c, err := ssh.Dial(ctx, ks, ssh.Options{KnownHosts: known}); err == nil {
			c.Close()
			fmt.Fprintf(a.stderr, "%s already logs in with the key %s: nothing to add\n", name, keyFile)
			return setKeyAuth(a.config, name, keyFile, "")
		}
	}
	if spec.Password == "" {
		spec.Password, err = a.readPassword(fmt.Sprintf("password of %s@%s (not shown, not stored): ", orDefaultStr(h.User, "root"), h.Address))
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stderr, "logging in to %s once with the password to add the key %s…\n", name, keyFile)
	added, err := ssh.InstallKey(ctx, spec, keyFile, ssh.Options{KnownHosts: known})
	if err != nil {
		return err
	}
	if added {
		fmt.Fprintf(a.stderr, "added the key to ~%s/.ssh/authorized_keys on %s and logged in with it\n", orDefaultStr(h.User, "root"), name)
	} else {
		fmt.Fprintf(a.stderr, "the key was already in ~%s/.ssh/authorized_keys on %s; it logs in\n", orDefaultStr(h.User, "root"), name)
	}
	sudoRef := ""
	if keep && h.User != "" && h.User != "root" {
		sudoRef = h.SudoPasswordRef
		if sudoRef == "" {
			sudoRef = name + "-sudo"
		}
		if err := store.Set(sudoRef, spec.Password); err != nil {
			return err
		}
		fmt.Fprintf(a.stderr, "kept the password as %s in %s (the sudo password)\n", sudoRef, store.Path())
	} else if keep {
		fmt.Fprintf(a.stderr, "%s logs in as root: no sudo password to keep, so the password was not stored\n", name)
	}
	if err := setKeyAuth(a.config, name, keyFile, sudoRef); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "%s now logs in to %s with the key (auth.method: key in %s)\n", "collabstack", name, a.config)
	if h.User != "" && h.User != "root" && sudoRef == "" && h.SudoPasswordRef == "" && h.Auth.Method == site.AuthPassword {
		fmt.Fprintf(a.stderr, "note: %s used the login password for sudo; if sudo asks for one, run add-key again with --keep-password or `collabstack secret set %s-sudo` and set sudo_password_ref\n", h.User, name)
	}
	return nil
}

// trustHost pins the host key of h unless it is pinned: the fingerprint
// given, or the one the user confirms on a terminal.
func (a *app) trustHost(ctx context.Context, known *ssh.KnownHosts, h site.Host, spec host.Spec, want string) error {
	key, err := ssh.ScanHostKey(ctx, spec)
	if err != nil {
		return engine.WithHint(err, "check the address and port, and that sshd runs on %s", h.Address)
	}
	fp := gossh.FingerprintSHA256(key)
	addr := fmt.Sprintf("%s:%d", h.Address, portOf(h))
	for _, k := range known.Lookup(h.Name, addr) {
		if gossh.FingerprintSHA256(k) == fp {
			return nil // pinned before
		}
	}
	switch {
	case want != "" && want != fp:
		return &ssh.HostKeyMismatchError{Host: h.Name, Address: addr, Want: want, Got: fp}
	case want == "":
		if !a.terminal() {
			return usageError{fmt.Errorf("%s (%s) shows the host key %s, which nothing confirms: compare it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and pass --host-key %s", h.Name, addr, fp, fp)}
		}
		fmt.Fprintf(a.stderr, "%s (%s) shows the host key\n  %s\ncompare it on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\ntrust it and log in? [y/N] ", h.Name, addr, fp)
		line, _ := bufio.NewReader(a.stdin).ReadString('\n')
		if ans := strings.ToLower(strings.TrimSpace(line)); ans != "y" && ans != "yes" {
			return usageError{fmt.Errorf("the host key of %s was not trusted; nothing was changed", h.Name)}
		}
	}
	return known.Pin(h.Name, h.Address, portOf(h), key)
}

// terminal reports whether stdin is a terminal to ask on.
func (a *app) terminal() bool {
	f, ok := a.stdin.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readPassword reads a password without echo on a terminal, or one line
// of standard input.
func (a *app) readPassword(prompt string) (string, error) {
	var value string
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		value = string(b)
	} else {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		value = strings.TrimRight(line, "\r\n")
	}
	if value == "" {
		return "", usageError{errors.New("no password given: type the host's login password (or pipe it as one line); nothing was changed")}
	}
	return value, nil
}

// setKeyAuth rewrites the auth of one host in the site file to the site's
// key, keeping the rest of the file (comments, order) as it is.
func setKeyAuth(path, hostName, keyFile, sudoRef string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
		return fmt.Errorf("read the site file %s again: %v", path, err)
	}
	hosts := mapValue(doc.Content[0], "hosts")
	if hosts == nil || hosts.Kind != yaml.SequenceNode {
		return fmt.Errorf("the site file %s has no hosts: list", path)
	}
	for _, hn := range hosts.Content {
		if n := mapValue(hn, "name"); n == nil || n.Value != hostName {
			continue
		}
		auth := mapValue(hn, "auth")
		if auth == nil || auth.Kind != yaml.MappingNode {
			auth = &yaml.Node{Kind: yaml.MappingNode}
			setMapValue(hn, "auth", auth)
		}
		setMapValue(auth, "method", &yaml.Node{Kind: yaml.ScalarNode, Value: site.AuthKey})
		setMapValue(auth, "key_file", &yaml.Node{Kind: yaml.ScalarNode, Value: keyFile})
		deleteMapKey(auth, "password_ref")
		if sudoRef != "" {
			setMapValue(hn, "sudo_password_ref", &yaml.Node{Kind: yaml.ScalarNode, Value: sudoRef})
		}
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(2)
		if err := enc.Encode(&doc); err != nil {
			return err
		}
		if err := enc.Close(); err != nil {
			return err
		}
		if _, err := site.Parse(b.Bytes()); err != nil {
			return fmt.Errorf("the site file with the key would not parse (%v); it was left as it was: set auth.method: key and auth.key_file: %s for %s by hand", err, keyFile, hostName)
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b.Bytes(), st.Mode().Perm()); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	}
	return fmt.Errorf("the site file %s has no host %s", path, hostName)
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setMapValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func deleteMapKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

func hostList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func orDefaultStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
