// Package standby is kopnik's standby server (seed 002's reliability
// section): the standby joins the swarm as a node labelled role=standby
// that runs nothing but a hot standby of the main server's PostgreSQL,
// streaming over the kopnik overlay network through a replication slot;
// the main server copies the SFTP root (kp-server with its upload folder,
// the built kp-client) to the standby every minute with rsync over SSH.
// Failover promotes the standby database, leaves the old swarm and makes
// the standby the site's manager, where the kopnik stack starts on the
// promoted data. Scripts are in templates/standby.
package standby

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/kopnik"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/prepare"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/swarm"
)

// Component is the --only name of the standby steps.
const Component = "standby"

// Names of the replication objects and paths.
const (
	ReplicationUser   = "replicator"
	Slot              = "standby"
	PasswordSecret    = "kopnik-replication-password"
	swarmSecret       = "kopnik_replication_password"
	Stack             = "kopnik-standby"
	Superuser         = "kopnik" // POSTGRES_USER of the kopnik stack
	Conf              = "/etc/collabstack/standby"
	State             = layout.Root + "/standby"
	SyncScript        = "/usr/local/lib/collabstack/standby-sync.sh"
	StandbyLabel      = "standby"
	unitDir           = "/etc/systemd/system/"
	syncUnit          = "collabstack-standby-sync"
	replicaService    = Stack + "_replica"
	replicaScriptName = "replica.sh"
)

// Step IDs.
const (
	JoinID      = "standby/join"
	LabelID     = "standby/label"
	PrimaryID   = "standby/primary"
	SecretID    = "standby/secret"
	ReplicaID   = "standby/replica"
	SyncSetupID = "standby/sync"
	SyncAuthID  = "standby/sync-authorize"
)

// Host is the site's standby, if it has one.
func Host(hosts []site.Host) (site.Host, bool) {
	for _, h := range hosts {
		if h.Role == site.RoleStandby {
			return h, true
		}
	}
	return site.Host{}, false
}

func address(inv *engine.Inventory, h site.Host) (string, int) {
	if spec, ok := inv.Spec(h.Name); ok && spec.Address != "" {
		if spec.Port == 0 {
			spec.Port = 22
		}
		return spec.Address, spec.Port
	}
	if h.Port == 0 {
		h.Port = 22
	}
	return h.Address, h.Port
}

// Steps are the standby's steps: for a kopnik site with a standby host.
func Steps(s *site.Site, hosts []site.Host) ([]engine.Step, error) {
	if _, ok := s.Components[kopnik.Component]; !ok {
		return nil, nil
	}
	sb, ok := Host(hosts)
	if !ok {
		return nil, nil
	}
	mgr, _, err := swarm.Members(hosts)
	if err != nil {
		return nil, err
	}
	m := mgr.Name
	dir := s.Prepare.SFTPRoot
	f := func(id, title, on string, needs []string, check func(context.Context, *engine.Env) (bool, error), apply func(context.Context, *engine.Env) error) engine.Step {
		return &engine.Func{StepID: id, Name: title, On: on, Comp: Component, Needs: needs, CheckFunc: check, ApplyFunc: apply}
	}
	nodeState := func(ctx context.Context, h host.Host) (state string, id string, err error) {
		out, err := h.Run(ctx, "docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.NodeID}}'", host.RunOpts{Sudo: true})
		if err != nil {
			return "", "", err
		}
		fl := append(strings.Fields(out), "", "")
		return fl[0], fl[1], nil
	}
	syncData := func(ctx context.Context, env *engine.Env) (map[string]any, error) {
		addr, port := address(env.Hosts, sb)
		return map[string]any{"Dir": dir, "Standby": sb.Name, "Conf": Conf, "State": State, "Port": port, "Target": "root@" + bracket(addr), "Script": SyncScript}, nil
	}
	steps := []engine.Step{
		// The token goes on stdin, as swarm's own join does.
		f(JoinID, "Join the standby "+sb.Name+" to the swarm (runs only the standby database)", sb.Name, []string{swarm.InitID, prepare.ID("docker", sb.Name)},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				st, _, err := nodeState(ctx, env.Host)
				return st == "active", err
			},
			func(ctx context.Context, env *engine.Env) error {
				mh, err := env.Hosts.Get(ctx, m)
				if err != nil {
					return err
				}
				token, err := mh.Run(ctx, "docker swarm join-token -q worker", host.RunOpts{Sudo: true})
				if err != nil {
					return err
				}
				addr, _ := address(env.Hosts, mgr)
				_, err = env.Host.Run(ctx, `sh -c 'IFS= read -r token; exec docker swarm join --token "$token" "$1"' join `+host.Quote(bracket(addr)+":2377"),
					host.RunOpts{Sudo: true, Stdin: []byte(strings.TrimSpace(token) + "\n")})
				if err != nil {
					return engine.WithHint(fmt.Errorf("join %s to the swarm: %w", sb.Name, err), "%s must reach %s on TCP 2377 and 7946 and UDP 4789 and 7946", sb.Name, addr)
				}
				return nil
			}),
		f(LabelID, "Label "+sb.Name+" role="+StandbyLabel, m, []string{JoinID},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				id, err := standbyNodeID(ctx, env, sb.Name, nodeState)
				if err != nil || id == "" {
					return false, err
				}
				out, err := env.Host.Run(ctx, "docker node inspect --format '{{index .Spec.Labels \"role\"}}' "+host.Quote(id), host.RunOpts{Sudo: true})
				return err == nil && strings.TrimSpace(out) == StandbyLabel, nil
			},
			func(ctx context.Context, env *engine.Env) error {
				id, err := standbyNodeID(ctx, env, sb.Name, nodeState)
				if err != nil {
					return err
				}
				_, err = env.Sudo(ctx, "docker node update --label-add role="+StandbyLabel+" "+host.Quote(id))
				return err
			}),
		swarm.SecretsStep(SecretID, "Store the replication password as a swarm secret", m, Component, []string{swarm.InitID}, replicationSecret),
		script.Step(script.Spec{ID: PrimaryID, Title: "Let the main database stream to the standby (role " + ReplicationUser + ", slot " + Slot + ")", Host: m, Component: Component,
			Needs: []string{kopnik.DeployID}, Path: "standby/primary.sh",
			Data: func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
				pw, err := env.Secrets.Password(PasswordSecret, 32)
				if err != nil {
					return nil, nil, err
				}
				return map[string]any{"User": ReplicationUser, "Slot": Slot}, []byte(pw + "\n"), nil
			}}),
		swarm.DeployStep(ReplicaID, "Deploy the standby database on "+sb.Name, m, Component, []string{PrimaryID, SecretID, LabelID},
			func(ctx context.Context, env *engine.Env) (swarm.Stack, error) {
				key, err := swarm.VersionKey(env)
				if err != nil {
					return swarm.Stack{}, err
				}
				rs, err := replicationSecret(ctx, env)
				if err != nil {
					return swarm.Stack{}, err
				}
				return Render(kopnik.Images["postgres"], rs[0].Name(key))
			}),
		f(SyncSetupID, "Copy "+dir+" to "+sb.Name+" every minute (rsync)", m, []string{prepare.ID("packages", m)},
			func(ctx context.Context, env *engine.Env) (bool, error) {
				d, _ := syncData(ctx, env)
				files, err := syncFiles(d)
				if err != nil {
					return false, err
				}
				for p, want := range files {
					have, err := env.Host.ReadFile(ctx, p)
					if errors.Is(err, fs.ErrNotExist) || err == nil && string(have) != string(want) {
						return false, nil
					}
					if err != nil {
						return false, err
					}
				}
				return script.Step(script.Spec{ID: SyncSetupID, Host: m, Title: "sync", Path: "standby/sync-setup.sh", Data: script.Fixed(d)}).Check(ctx, env)
			},
			func(ctx context.Context, env *engine.Env) error {
				d, _ := syncData(ctx, env)
				files, err := syncFiles(d)
				if err != nil {
					return err
				}
				if _, err := env.Sudo(ctx, "mkdir -p "+Conf+" /usr/local/lib/collabstack && chmod 700 "+Conf); err != nil {
					return err
				}
				for p, content := range files {
					if err := env.Host.Upload(ctx, p, content, 0o644, "root"); err != nil {
						return err
					}
				}
				// The standby's key is pinned before the timer first runs.
				sbh, err := env.Hosts.Get(ctx, sb.Name)
				if err != nil {
					return err
				}
				k, err := sbh.ReadFile(ctx, "/etc/ssh/ssh_host_ed25519_key.pub")
				if err != nil {
					return fmt.Errorf("read %s's SSH host key: %w", sb.Name, err)
				}
				kf := strings.Fields(string(k))
				if len(kf) < 2 {
					return fmt.Errorf("%s's SSH host key is unreadable", sb.Name)
				}
				addr, port := address(env.Hosts, sb)
				name := addr
				if port != 22 {
					name = fmt.Sprintf("[%s]:%d", addr, port)
				}
				if err := env.Host.Upload(ctx, Conf+"/known_hosts", []byte(name+" "+kf[0]+" "+kf[1]+"\n"), 0o644, "root"); err != nil {
					return err
				}
				return script.Step(script.Spec{ID: SyncSetupID, Host: m, Title: "Copy to the standby", Path: "standby/sync-setup.sh", Data: script.Fixed(d)}).Apply(ctx, env)
			}),
		script.Step(script.Spec{ID: SyncAuthID, Title: "Let " + m + " copy " + dir + " to " + sb.Name + " (rsync only)", Host: sb.Name, Component: Component,
			Needs: []string{SyncSetupID, prepare.ID("packages", sb.Name)}, Path: "standby/sync-authorize.sh",
			Data: func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
				mh, err := env.Hosts.Get(ctx, m)
				if err != nil {
					return nil, nil, err
				}
				k, err := mh.ReadFile(ctx, Conf+"/id_ed25519.pub")
				if errors.Is(err, fs.ErrNotExist) {
					k = []byte("ssh-ed25519 (made-by-the-sync-step)")
				} else if err != nil {
					return nil, nil, err
				}
				kf := strings.Fields(string(k))
				if len(kf) < 2 {
					return nil, nil, fmt.Errorf("%s's sync key is unreadable", m)
				}
				return map[string]any{"Dir": dir, "Key": kf[0] + " " + kf[1]}, nil, nil
			}}),
	}
	return steps, nil
}

func bracket(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

func standbyNodeID(ctx context.Context, env *engine.Env, name string, state func(context.Context, host.Host) (string, string, error)) (string, error) {
	h, err := env.Hosts.Get(ctx, name)
	if err != nil {
		return "", err
	}
	_, id, err := state(ctx, h)
	return id, err
}

func syncFiles(d map[string]any) (map[string][]byte, error) {
	out := map[string][]byte{}
	for p, t := range map[string]string{
		SyncScript:                      "standby/sync.sh",
		unitDir + syncUnit + ".service": "standby/collabstack-standby-sync.service",
		unitDir + syncUnit + ".timer":   "standby/collabstack-standby-sync.timer",
	} {
		text, err := script.RenderFile(t, d)
		if err != nil {
			return nil, err
		}
		out[p] = []byte(text)
	}
	return out, nil
}

// replicationSecret is the replication password as a swarm secret:
// primary.sh sets the role's password only when it creates the role, so
// a changed value is refused, not rotated.
func replicationSecret(_ context.Context, env *engine.Env) ([]swarm.Secret, error) {
	pw, err := env.Secrets.Password(PasswordSecret, 32)
	if err != nil {
		return nil, err
	}
	return []swarm.Secret{{Base: swarmSecret, Value: []byte(pw), Source: PasswordSecret, Fixed: true,
		Why: "the main database's replication role keeps the password it was created with"}}, nil
}

// Render renders the standby database's stack for the postgres image;
// secret is the swarm name of the replication password's version.
func Render(image, secret string) (swarm.Stack, error) {
	rs, err := script.RenderFile("standby/"+replicaScriptName, map[string]any{})
	if err != nil {
		return swarm.Stack{}, err
	}
	sum := sha256.Sum256([]byte(rs))
	stack, err := script.RenderFile("standby/stack.yaml.tmpl", map[string]any{
		"Image": image, "User": ReplicationUser, "Slot": Slot, "Secret": secret, "ScriptHash": hex.EncodeToString(sum[:])[:12],
	})
	if err != nil {
		return swarm.Stack{}, err
	}
	return swarm.Stack{Name: Stack, Files: map[string][]byte{"stack.yaml": []byte(stack), replicaScriptName: []byte(rs)}}, nil
}

// Replication says how the standby streams, from pg_stat_replication on
// the main database: state, and how many bytes of WAL it has not yet
// replayed. "" when no standby is connected.
func Replication(ctx context.Context, mgr host.Host) (string, error) {
	q := "SELECT client_addr || ' ' || state || ' ' || coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), -1)::bigint FROM pg_stat_replication WHERE application_name <> '' LIMIT 1"
	out, err := mgr.Run(ctx, "docker exec $(docker ps -q -f label=com.docker.swarm.service.name=kopnik_db | head -n1) psql -qtA -U "+Superuser+" -d postgres -c "+host.Quote(q), host.RunOpts{Sudo: true})
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) < 3 {
		return "", nil
	}
	return fmt.Sprintf("%s from %s, %s bytes behind", f[1], f[0], f[2]), nil
}

// Promote promotes the standby database on h and leaves the old swarm:
// the first half of a failover.
func Promote(ctx context.Context, h host.Host, out func(string)) error {
	text, err := script.Render("standby/promote.sh", map[string]any{"Superuser": Superuser})
	if err != nil {
		return err
	}
	_, err = h.Run(ctx, text, host.RunOpts{Sudo: true, Env: map[string]string{"MODE": "apply"}, Output: out})
	return err
}
