package lifecycle

import (
	"slices"
	"strings"
	"testing"
)

// Pending: a service whose running image (digest cut off) differs from
// the pinned one is an upgrade; one that does not run is not.
func TestPendingUpgrades(t *testing.T) {
	c := catalog(t)
	s := siteWith(t, "redis", "adminer")
	pinned, owner, err := PinnedImages(c, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pinned["redis_redis"] != "redis:7.2.7" || owner["redis_redis"] != "redis" || pinned["edge_nginx"] == "" && len(pinned) < 3 {
		t.Fatalf("pinned: %v", pinned)
	}
	running := parseServiceImages("redis_redis redis:7.2.4@sha256:0123abcd\nadminer_adminer " + pinned["adminer_adminer"] + "@sha256:ffff\nshared_registry registry:2.8.3\n\n")
	got := Pending(pinned, owner, running)
	if len(got) != 1 || got[0].Service != "redis_redis" || got[0].Running != "redis:7.2.4" || got[0].Pinned != "redis:7.2.7" {
		t.Fatalf("pending: %v", got)
	}
	if !slices.Equal(Components(got), []string{"redis"}) || !strings.Contains(got[0].String(), "runs redis:7.2.4") {
		t.Errorf("%v %s", Components(got), got[0])
	}
	if _, _, err := PinnedImages(c, s, []string{"etherpad"}); err == nil {
		t.Error("an app the site does not have")
	}
}
