package network

// Dir is where the package's templates are, under templates/. Its shell
// steps (SoftEther's and smartdns's install and service) run through
// steps/script, behind the one lib.sh, like every other script step.
const Dir = "network/"

// Scripts are the package's shell scripts run through steps/script, for
// the shellcheck test.
func Scripts() []string {
	return []string{"softether/install.sh", "softether/service.sh.tmpl", "smartdns/install.sh", "smartdns/service.sh.tmpl"}
}
