package ssh

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/sshkey"
	"github.com/collabstack/collabstack/templates"
)

// InstallKey gives a host that so far takes only a password collabstack's
// own key: it makes the ed25519 key at keyFile unless one is there, logs in
// once with spec.Password, adds the key's public half to the login user's
// ~/.ssh/authorized_keys (once: a second run changes nothing), and proves
// that the key alone logs in. The password is used for that one login and
// not kept. opts.KnownHosts should hold the host key the user confirmed;
// both logins must present it.
//
// added reports whether the key was new on the host.
func InstallKey(ctx context.Context, spec host.Spec, keyFile string, opts Options) (added bool, err error) {
	if spec.Password == "" {
		return false, fmt.Errorf("%s: installing collabstack's key needs the login password of %s once", spec.Name, userOf(spec))
	}
	line, err := sshkey.Ensure(keyFile, sshkey.Comment)
	if err != nil {
		return false, err
	}
	script, err := templates.FS.ReadFile("ssh/authorize-key.sh")
	if err != nil {
		return false, err
	}
	pw := spec
	pw.KeyFile, pw.Agent = "", false
	h, err := Dial(ctx, pw, opts)
	if err != nil {
		return false, err
	}
	out, err := h.Run(ctx, string(script), host.RunOpts{Env: map[string]string{"KEY": line}})
	h.Close()
	if err != nil {
		return false, fmt.Errorf("add collabstack's key to ~%s/.ssh/authorized_keys on %s: %w", userOf(spec), spec.Name, err)
	}
	added = strings.TrimSpace(out) == "added"

	key := spec
	key.Password, key.Agent, key.KeyFile = "", false, keyFile
	kh, err := Dial(ctx, key, opts)
	if err != nil {
		var hint string
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return added, err
		}
		hint = "the key is in ~" + userOf(spec) + "/.ssh/authorized_keys, but sshd did not take it: check PubkeyAuthentication and AuthorizedKeysFile in /etc/ssh/sshd_config on the host"
		return added, fmt.Errorf("log in to %s with collabstack's key %s: %w: %s", spec.Name, keyFile, err, hint)
	}
	defer kh.Close()
	if _, err := kh.Run(ctx, "true", host.RunOpts{}); err != nil {
		return added, fmt.Errorf("run a command on %s with collabstack's key: %w", spec.Name, err)
	}
	return added, nil
}

func userOf(spec host.Spec) string {
	if spec.User == "" {
		return "root"
	}
	return spec.User
}
