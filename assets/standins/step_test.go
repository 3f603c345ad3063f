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

func TestImagesForPicksWhatANodeLacks(t *testing.T) {
	imgs := []Image{
		{Name: "postgres", Tags: []string{"postgres:16", "postgres:17"}},
		{Name: "redis", Tags: []string{"redis:7"}},
	}
	got := imagesFor(imgs, []string{"docker.io/library/postgres:17"})
	if len(got) != 1 || got[0].Name != "postgres" || len(got[0].Tags) != 2 {
		t.Errorf("imagesFor = %+v, want the postgres stand-in with all its tags", got)
	}
	if got := imagesFor(imgs, nil); len(got) != 0 {
		t.Errorf("imagesFor(nothing) = %+v", got)
	}
}
