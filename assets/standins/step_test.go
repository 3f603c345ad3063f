package standins

import "testing"

func TestNormalRef(t *testing.T) {
	for in, want := range map[string]string{
		"postgres:16.4":                 "postgres:16.4",
		"docker.io/library/redis:7.4.1": "redis:7.4.1",
		"library/nginx":                 "nginx:latest",
		"registry.lan:5000/kp/server":   "registry.lan:5000/kp/server:latest",
		"ghcr.io/a/b:1.2":               "ghcr.io/a/b:1.2",
		"portainer/agent:2.21.4":        "portainer/agent:2.21.4",
	} {
		if got := normalRef(in); got != want {
			t.Errorf("normalRef(%q) = %q, want %q", in, got, want)
		}
	}
}
