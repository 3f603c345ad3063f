package pveinstall

import (
	"context"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
)

// Dir is where the install scripts, units and network templates live in
// templates.FS. The step scripts run behind the one lib.sh of
// steps/script, with its protocol: MODE=check exits 0 when done and 100
// ("todo: why") when not, MODE=apply does what is missing; values reach
// them through the template, shell-quoted.
const Dir = "proxmox/install/"

// Scripts lists the step scripts that run behind lib.sh (for shellcheck).
func Scripts() []string {
	return []string{"preflight.sh", "repo.sh", "kernel.sh", "kernel-running.sh", "packages.sh", "cleanup.sh",
		"bridge.sh", "bridge-facts.sh", "bridge-apply.sh", "bridge-confirm.sh"}
}

// HostScripts lists the standalone scripts installed on the host.
func HostScripts() []string { return []string{"netapply.sh", "netrevert.sh"} }

// run runs the step script Dir+name as root with MODE=mode, filled with
// data. Output is streamed to the step log when stream is set.
func run(ctx context.Context, env *engine.Env, name, mode string, data map[string]any, stream bool) script.Result {
	var opts host.RunOpts
	if stream {
		opts.Output = env.Out
	}
	return script.Run(ctx, env.Host, Dir+name, mode, data, opts)
}

// scriptStep is a step whose Check runs the script with MODE=check and
// whose Apply runs it with MODE=apply (steps/script).
func scriptStep(id, title, hostName string, needs []string, name string, data map[string]any) engine.Step {
	return script.Step(script.Spec{ID: id, Title: title, Host: hostName, Needs: needs, Component: Component,
		Path: Dir + name, Data: script.Fixed(data)})
}
