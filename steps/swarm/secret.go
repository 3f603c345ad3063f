package swarm

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"go.yaml.in/yaml/v3"
)

// A swarm secret cannot change in place: collabstack gives each value of
// a secret its own version, <base>_<12 hex digits>, that a stack names
// (compose: `secrets: x: {external: true, name: <version>}`, the file in
// the container keeps its name x). A changed value is a new version, a
// changed stack file, a redeploy; the deploy step then removes the
// versions no service uses any more. The 12 digits are an HMAC-SHA256 of
// the value keyed by the site's VersionKeySecret, so a name or label
// never lets anyone with docker access test guesses of a password.

// VersionKeySecret names, in the secrets file, the site's key for the
// versions of its swarm secrets and configs.
const VersionKeySecret = "swarm-version-key"

// SecretLabel marks the swarm secrets collabstack versions; its value is
// the secret's base name.
const SecretLabel = "collabstack.secret"

// MaxNameLen is the longest name docker accepts for a secret or config.
const MaxNameLen = 64

const versionLen = 12

var versioned = regexp.MustCompile(`^(.+)_([0-9a-f]{12})$`)

// VersionKey is the site's version key (generated into the secrets file
// on first use).
func VersionKey(env *engine.Env) (string, error) {
	return env.Secrets.Password(VersionKeySecret, 32)
}

// Version is the version of a value of the secret (or config) base
// under the site's key.
func Version(key, base string, value []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(base))
	m.Write([]byte{0})
	m.Write(value)
	return hex.EncodeToString(m.Sum(nil))[:versionLen]
}

// VersionedName is the swarm name of a value of base: base_<version>.
func VersionedName(key, base string, value []byte) string {
	return base + "_" + Version(key, base, value)
}

// BaseOf is the base of a versioned name ("" for a name that is not one).
func BaseOf(name string) string {
	if m := versioned.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// Secret is one swarm secret a step keeps current.
type Secret struct {
	// Base names it in the swarm; its versions are Base_<version>.
	Base string
	// Value is what its version follows: the secrets-file value.
	Value []byte
	// Content is what the swarm stores when it is not Value itself (an
	// htpasswd line made from the password, whose salt changes at every
	// call, while the version follows the password); called only to
	// create a version.
	Content func() ([]byte, error)
	// Fixed: the app keeps the first value in its own data (a
	// database's superuser password set at its first start), so a new
	// value must not reach it through the secret alone. A changed value
	// fails the step, saying so, instead of rotating.
	Fixed bool
	// Source is the secrets-file entry, named in messages.
	Source string
	// Why says, for a fixed secret, what keeps the first value.
	Why string
}

// Name is the swarm name of the secret's current value.
func (s Secret) Name(key string) string { return VersionedName(key, s.Base, s.Value) }

// SecretsStep keeps a set of swarm secrets current: done when the
// version of each value exists in the swarm (one round trip). Apply
// creates the missing versions (value on stdin, labelled SecretLabel);
// the stack that names them moves to them when it is deployed, and its
// deploy removes the old versions. A Fixed secret whose value changed
// fails the step with the reason.
func SecretsStep(id, title, manager, component string, needs []string, list func(ctx context.Context, env *engine.Env) ([]Secret, error)) engine.Step {
	state := func(ctx context.Context, env *engine.Env) (key string, ss []Secret, have map[string]bool, err error) {
		if key, err = VersionKey(env); err != nil {
			return "", nil, nil, err
		}
		if ss, err = list(ctx, env); err != nil {
			return "", nil, nil, err
		}
		out, err := env.Host.Run(ctx, "docker secret ls --format '{{.Name}}'", host.RunOpts{Sudo: true})
		if err != nil {
			return "", nil, nil, fmt.Errorf("list the swarm secrets: %w", err)
		}
		have = map[string]bool{}
		for _, n := range strings.Fields(out) {
			have[n] = true
		}
		return key, ss, have, nil
	}
	return &engine.Func{
		StepID: id, Name: title, On: manager, Comp: component, Needs: needs,
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			key, ss, have, err := state(ctx, env)
			if err != nil {
				return false, err
			}
			for _, s := range ss {
				if !have[s.Name(key)] {
					return false, nil
				}
			}
			return true, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			key, ss, have, err := state(ctx, env)
			if err != nil {
				return err
			}
			for _, s := range ss {
				name := s.Name(key)
				if have[name] {
					continue
				}
				if len(name) > MaxNameLen {
					return fmt.Errorf("the swarm secret %s is longer than %d characters", name, MaxNameLen)
				}
				if old := OtherVersions(have, s.Base, name); s.Fixed && len(old) > 0 {
					return engine.WithHint(fmt.Errorf("%s changed in the secrets file, but %s: collabstack does not rotate it (the swarm has %s)", s.Source, s.Why, strings.Join(old, ", ")),
						"put the previous value of %s back into the secrets file (a backup of it has it), or change it inside the app first; docs/user-guide.md, \"Changing a secret\", lists which secrets rotate", s.Source)
				}
				content := s.Value
				if s.Content != nil {
					if content, err = s.Content(); err != nil {
						return err
					}
				}
				// The value goes on stdin: never on a command line.
				if _, err := env.Host.Run(ctx, "docker secret create --label "+host.Quote(SecretLabel+"="+s.Base)+" "+host.Quote(name)+" - >/dev/null",
					host.RunOpts{Sudo: true, Stdin: content, Output: env.Out}); err != nil {
					return engine.WithHint(fmt.Errorf("create the swarm secret %s: %w", name, err), "`docker secret ls` on %s shows the secrets the swarm has", manager)
				}
				env.Logf("created %s (%s)", name, s.Source)
			}
			return nil
		},
	}
}

// OtherVersions are the names in have that are versions of base other
// than name, sorted.
func OtherVersions(have map[string]bool, base, name string) []string {
	var out []string
	for n := range have {
		if n != name && BaseOf(n) == base {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// StackVersions are the versioned secrets and configs a compose file
// names (`name: base_<version>` under its top-level secrets and configs):
// the bases whose other versions its deploy may remove.
func StackVersions(compose []byte) (secrets, configs map[string]string) {
	var doc struct {
		Secrets map[string]struct {
			Name string `yaml:"name"`
		} `yaml:"secrets"`
		Configs map[string]struct {
			Name string `yaml:"name"`
		} `yaml:"configs"`
	}
	secrets, configs = map[string]string{}, map[string]string{}
	if yaml.Unmarshal(compose, &doc) != nil {
		return secrets, configs
	}
	for _, s := range doc.Secrets {
		if b := BaseOf(s.Name); b != "" {
			secrets[b] = s.Name
		}
	}
	for _, c := range doc.Configs {
		if b := BaseOf(c.Name); b != "" {
			configs[b] = c.Name
		}
	}
	return secrets, configs
}

// Stale are the names in have that a deploy of a stack naming wanted
// (base → current version) may remove: other versions of those bases,
// and the base itself (a secret from before versions), that no service
// uses.
func Stale(have []string, used map[string]bool, wanted map[string]string) []string {
	var out []string
	for _, n := range have {
		if used[n] {
			continue
		}
		if cur, ok := wanted[BaseOf(n)]; ok && n != cur {
			out = append(out, n)
			continue
		}
		if _, ok := wanted[n]; ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// pruneScript lists, in one round trip, the swarm's secrets and configs
// and the ones its services use.
const pruneScript = `echo '# secrets'; docker secret ls --format '{{.Name}}'
echo '# configs'; docker config ls --format '{{.Name}}'
echo '# used'
docker service ls -q | xargs -r docker service inspect --format '{{range .Spec.TaskTemplate.ContainerSpec.Secrets}}{{println .SecretName}}{{end}}{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{println .ConfigName}}{{end}}'`

// parsePrune reads pruneScript's output.
func parsePrune(out string) (secrets, configs []string, used map[string]bool) {
	used = map[string]bool{}
	section := ""
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "":
		case strings.HasPrefix(l, "# "):
			section = l[2:]
		case section == "secrets":
			secrets = append(secrets, l)
		case section == "configs":
			configs = append(configs, l)
		case section == "used":
			used[l] = true
		}
	}
	return secrets, configs, used
}

// pruneVersions removes the versions of a stack's secrets and configs
// that no service uses any more (after its deploy moved to the current
// ones). A failure is logged, not fatal: the next deploy that changes
// them tries again.
func pruneVersions(ctx context.Context, env *engine.Env, compose []byte) {
	ws, wc := StackVersions(compose)
	if len(ws) == 0 && len(wc) == 0 {
		return
	}
	out, err := env.Host.Run(ctx, "sh -c "+host.Quote(pruneScript), host.RunOpts{Sudo: true})
	if err != nil {
		env.Logf("could not list the swarm's secrets to remove old versions: %v", err)
		return
	}
	secrets, configs, used := parsePrune(out)
	for _, kind := range []struct {
		what  string
		names []string
	}{{"secret", Stale(secrets, used, ws)}, {"config", Stale(configs, used, wc)}} {
		for _, n := range kind.names {
			if _, err := env.Host.Run(ctx, "docker "+kind.what+" rm "+host.Quote(n)+" >/dev/null", host.RunOpts{Sudo: true}); err != nil {
				env.Logf("could not remove the old %s %s: %v", kind.what, n, err)
				continue
			}
			env.Logf("removed the old %s %s", kind.what, n)
		}
	}
}
