package facts

import (
	"context"
	"testing"

	"github.com/collabstack/collabstack/steps/host"
)

func TestGatherLocal(t *testing.T) {
	f, err := Gather(context.Background(), host.NewLocal("local"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Cores < 1 || f.MemoryMB < 1 || f.Arch == "" || f.OSID == "" {
		t.Errorf("facts of this machine look empty: %+v", f)
	}
	t.Log(f)
}
