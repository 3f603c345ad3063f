package images

import "testing"

func TestRegistryRef(t *testing.T) {
	for in, want := range map[string]string{
		"kp-client":                     "10.0.0.2:5000/kp-client:latest",
		"kp/app:1.2":                    "10.0.0.2:5000/kp/app:1.2",
		"docker.io/library/nginx:1.27":  "10.0.0.2:5000/library/nginx:1.27",
		"localhost:5000/x:2":            "10.0.0.2:5000/x:2",
		"localhost/x":                   "10.0.0.2:5000/x:latest",
		"ghcr.io/org/tool@sha256:abc12": "10.0.0.2:5000/org/tool@sha256:abc12",
	} {
		if got := RegistryRef("10.0.0.2:5000", in); got != want {
			t.Errorf("RegistryRef(%q) = %q, want %q", in, got, want)
		}
	}
}
