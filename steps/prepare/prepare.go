// Package prepare readies an existing Debian 12 or Ubuntu 22.04/24.04 host
// (or a lab node) for the suite, as seed 002 asks: base packages, time
// sync, the admin user with a generated password, SSH kept for
// collabstack's key, an SFTP-only account confined to the SFTP root, a bare
// XFCE when asked, the Docker engine, and Node.js through nvm.
//
// Each step is a shell script from templates/prepare/ run twice over: with
// MODE=check it only reads the host and says whether anything is missing,
// with MODE=apply it does what is missing. So every Check reads live state,
// and a second run changes nothing.
package prepare

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sshkey"
)

// Component is the --only name of the prepare steps.
const Component = "prepare"

// Secret names.
const (
	// AdminPasswordSecret is the admin user's password (the same on every
	// host of a site); `collabstack secret show admin-password` reads it.
	AdminPasswordSecret = "admin-password"
	// SFTPPasswordSecret is the SFTP-only account's password.
	SFTPPasswordSecret = "sftp-password"
)

// SFTP account and chroot.
const (
	// SFTPUser is the SFTP-only account; its group of the same name may
	// write to folders inside the SFTP root that belong to it.
	SFTPUser = "sftp"
	// SFTPChroot is where the SFTP root is bind-mounted as the chroot
	// (sshd wants every folder above a chroot to be root's).
	SFTPChroot = "/srv/collabstack-sftp"
)

// NodeDistro in site.Prepare.Node installs the distribution's nodejs and
// npm instead of nvm (for hosts that cannot reach GitHub and nodejs.org).
const NodeDistro = "distro"

// Defaults.
const (
	DefaultNVMVersion = "v0.40.3"
	DefaultDockerRepo = "https://download.docker.com/linux"
)

// BasePackages returns the packages installed on every prepared host.
func BasePackages() []string {
	return []string{"ca-certificates", "curl", "gnupg", "sudo", "openssh-server", "rsync", "git", "less", "procps", "iproute2", "tzdata", "perl-base"}
}

// Options tune what Steps does beyond the site file.
type Options struct {
	// NVMTarball is a .tar.gz of an nvm checkout on this machine (for
	// example `git archive --prefix=nvm/ -o nvm.tar.gz v0.40.3` in a clone
	// of nvm-sh/nvm), uploaded to the host instead of fetching nvm from
	// GitHub.
	NVMTarball string
	// NVMVersion is the nvm release fetched from GitHub (default v0.40.3).
	NVMVersion string
	// NodeMirror is passed to nvm as NVM_NODEJS_ORG_MIRROR.
	NodeMirror string
	// DockerRepo is Docker's repository base (default
	// https://download.docker.com/linux).
	DockerRepo string
}

// ID is a prepare step's ID: "prepare/docker/lab-1".
func ID(what, hostName string) string { return "prepare/" + what + "/" + hostName }

// Steps prepares the host hostName; every step comes after
// layout.ReachID(hostName).
func Steps(s *site.Site, hostName string) []engine.Step {
	return StepsWith(s, hostName, Options{})
}

// StepsWith is Steps with options.
func StepsWith(s *site.Site, hostName string, o Options) []engine.Step {
	if o.NVMVersion == "" {
		o.NVMVersion = DefaultNVMVersion
	}
	if o.DockerRepo == "" {
		o.DockerRepo = DefaultDockerRepo
	}
	p := s.Prepare
	admin := p.AdminUser
	if admin == "" {
		admin = site.DefaultAdminUser
	}
	sftpRoot := p.SFTPRoot
	if sftpRoot == "" {
		sftpRoot = "/home/" + admin + "/sftp"
	}
	reach := layout.ReachID(hostName)
	id := func(what string) string { return ID(what, hostName) }
	fixed := script.Fixed
	withSecret := func(name string, data map[string]any) func(context.Context, *engine.Env) (map[string]any, []byte, error) {
		return func(_ context.Context, env *engine.Env) (map[string]any, []byte, error) {
			if env.Secrets == nil {
				return nil, nil, fmt.Errorf("no secrets store to keep %s in", name)
			}
			pw, err := env.Secrets.Password(name, 24)
			if err != nil {
				return nil, nil, fmt.Errorf("generate %s: %w", name, err)
			}
			return data, []byte(pw + "\n"), nil
		}
	}

	steps := []engine.Step{
		scriptStep(id("packages"), "Install the base packages on "+hostName, hostName, []string{reach}, "packages.sh",
			fixed(map[string]any{"Packages": strings.Join(BasePackages(), " ")})),
		scriptStep(id("time"), "Set up time sync on "+hostName, hostName, []string{id("packages")}, "time.sh",
			fixed(map[string]any{"Servers": strings.Join(p.NTP, " ")})),
		scriptStep(id("admin"), "Create the admin user "+admin+" on "+hostName, hostName, []string{id("packages")}, "admin.sh",
			withSecret(AdminPasswordSecret, map[string]any{"User": admin})),
		scriptStep(id("ssh"), "Keep SSH access for collabstack's key on "+hostName, hostName, []string{id("admin")}, "sshkey.sh",
			func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
				key, login, err := ourKey(env, hostName)
				if err != nil || key == "" {
					return nil, nil, err
				}
				users := admin
				if login != admin {
					users += " " + login
				}
				return map[string]any{"Key": key, "Users": users}, nil, nil
			}),
		scriptStep(id("sftp"), "Set up SFTP into "+sftpRoot+" on "+hostName, hostName, []string{id("ssh")}, "sftp.sh",
			withSecret(SFTPPasswordSecret, map[string]any{"Root": sftpRoot, "Chroot": SFTPChroot, "SFTPUser": SFTPUser, "Admin": admin})),
		scriptStep(id("sshd"), "Harden SSH on "+hostName, hostName, []string{id("sftp")}, "sshd.sh",
			func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
				var spec host.Spec
				if env.Hosts != nil {
					spec, _ = env.Hosts.Spec(hostName)
				}
				auth := "no"
				switch {
				case p.KeepPasswordLogin:
					auth = "yes"
				case spec.KeyFile == "" && !spec.Agent:
					auth = "yes"
					env.Logf("%s: collabstack logs in with a password, so password authentication stays on; give it a key (`collabstack hosts add-key`) to turn it off", hostName)
				}
				return map[string]any{"PasswordAuth": auth}, nil, nil
			}),
	}
	if p.XFCE {
		steps = append(steps, scriptStep(id("xfce"), "Install a bare XFCE on "+hostName, hostName, []string{id("packages")}, "xfce.sh", fixed(map[string]any{})))
	}
	if p.Docker == "docker-repo" {
		steps = append(steps, scriptStep(id("docker"), "Install Docker from Docker's repository on "+hostName, hostName, []string{id("admin")}, "docker-repo.sh",
			fixed(map[string]any{"Admin": admin, "RepoURL": strings.TrimSuffix(o.DockerRepo, "/")})))
	} else {
		steps = append(steps, scriptStep(id("docker"), "Install Docker on "+hostName, hostName, []string{id("admin")}, "docker-distro.sh",
			fixed(map[string]any{"Admin": admin})))
	}
	if p.Node == NodeDistro {
		steps = append(steps, scriptStep(id("node"), "Install the distribution's Node.js on "+hostName, hostName, []string{id("packages")}, "node-distro.sh", fixed(map[string]any{})))
	} else {
		version := p.Node
		if version == "" {
			version = "lts"
		}
		steps = append(steps, nvmStep(id("node"), hostName, []string{id("admin")}, admin, version, o))
	}
	return steps
}

// ourKey returns the public key collabstack logs in to hostName with
// ("" when it uses an agent or a password) and the login user.
func ourKey(env *engine.Env, hostName string) (string, string, error) {
	var spec host.Spec
	if env.Hosts != nil {
		spec, _ = env.Hosts.Spec(hostName)
	}
	login := spec.User
	if login == "" {
		login = "root"
	}
	if spec.KeyFile == "" {
		env.Logf("%s: collabstack logs in without a key file: no key to keep in authorized_keys", hostName)
		return "", login, nil
	}
	line, err := sshkey.PublicOf(spec.KeyFile, sshkey.Comment)
	if err != nil {
		return "", "", err
	}
	return line, login, nil
}

// scriptStep runs templates/prepare/<name> through steps/script.
func scriptStep(id, title, hostName string, needs []string, name string, data script.Data) engine.Step {
	return script.Step(script.Spec{ID: id, Title: title, Host: hostName, Needs: needs, Component: Component, Path: "prepare/" + name, Data: data})
}

// nvmStep installs nvm and Node for the admin user; with an nvm tarball it
// uploads it first, so the host needs no access to GitHub.
func nvmStep(id, hostName string, needs []string, admin, version string, o Options) engine.Step {
	const remoteTarball = "/tmp/collabstack-nvm.tar.gz"
	data := func(ctx context.Context, env *engine.Env) (map[string]any, []byte, error) {
		if strings.ContainsAny(o.NodeMirror, "'\"\\ $`") {
			return nil, nil, fmt.Errorf("node mirror %q: quotes, spaces and $ are not allowed in the URL", o.NodeMirror)
		}
		d := map[string]any{"User": admin, "Version": version, "NVMVersion": o.NVMVersion, "Tarball": "", "Mirror": o.NodeMirror}
		if o.NVMTarball != "" {
			d["Tarball"] = remoteTarball
		}
		return d, nil, nil
	}
	step := scriptStep(id, "Install nvm and Node.js "+version+" for "+admin+" on "+hostName, hostName, needs, "node-nvm.sh", data).(*script.Scripted)
	apply := step.ApplyFunc
	step.ApplyFunc = func(ctx context.Context, env *engine.Env) error {
		if o.NVMTarball != "" {
			tgz, err := os.ReadFile(o.NVMTarball)
			if err != nil {
				return engine.WithHint(fmt.Errorf("read the nvm tarball: %w", err), "make it in a clone of nvm-sh/nvm: git archive --prefix=nvm/ -o nvm.tar.gz %s", o.NVMVersion)
			}
			if err := env.Host.Upload(ctx, remoteTarball, tgz, 0o644, ""); err != nil {
				return fmt.Errorf("upload nvm to %s: %w", hostName, err)
			}
		}
		return apply(ctx, env)
	}
	return step
}

// Render renders templates/prepare/<name> behind the shared script head.
func Render(name string, data map[string]any) (string, error) {
	return script.Render("prepare/"+name, data)
}

// Scripts lists the step scripts (for the shellcheck test).
func Scripts() []string {
	return []string{"packages.sh", "time.sh", "admin.sh", "sshkey.sh", "sftp.sh", "sshd.sh", "xfce.sh", "docker-distro.sh", "docker-repo.sh", "node-distro.sh", "node-nvm.sh"}
}
