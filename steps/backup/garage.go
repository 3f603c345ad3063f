package backup

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/collabstack/collabstack/steps/apps"
	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
	"github.com/collabstack/collabstack/steps/site"
	"github.com/collabstack/collabstack/steps/sitemodel"
)

// garageApp is the catalog's Garage, its swarm service and the region
// its garage.toml names (s3_api.s3_region).
const (
	garageApp     = "garage"
	garageService = "garage_garage"
	garageRegion  = "garage"
)

// GarageNotOffsite is the warning a garage repository gets in the plan
// and from `collabstack backup`.
const GarageNotOffsite = "not offsite: it is on the site's own disks, lost with them unless Garage replicates to another host; keep another repository off the site"

// GarageID makes the bucket and key of a garage repository.
func GarageID(repo string) string { return "backup/garage/" + repo }

// GarageKeyName is the name of collabstack's key in Garage.
func GarageKeyName(repo string) string { return "collabstack-backup-" + repo }

// garageURL is the site's Garage as the edge serves it (path-style
// buckets: s3.<domain>/<bucket>).
func garageURL(s *site.Site) (string, error) {
	m, err := sitemodel.Of(s)
	if err != nil {
		return "", err
	}
	a, ok := m.App(garageApp)
	if !ok || a.URL == "" {
		return "", fmt.Errorf("backup: a garage repository needs the garage component")
	}
	return strings.TrimSuffix(a.URL, "/"), nil
}

// garageState is what garage.sh read.
type garageState struct {
	Bucket, Allowed bool
	KeyID, Secret   string
}

func parseGarage(out string) garageState {
	var g garageState
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "bucket: yes":
			g.Bucket = true
		case l == "allowed: yes":
			g.Allowed = true
		case strings.HasPrefix(l, "Key ID: "):
			g.KeyID = strings.TrimSpace(strings.TrimPrefix(l, "Key ID: "))
		case strings.HasPrefix(l, "Secret key: "):
			g.Secret = strings.TrimSpace(strings.TrimPrefix(l, "Secret key: "))
		}
	}
	return g
}

// errNoGarageTask: garage.sh found no garage task on that node.
var errNoGarageTask = errors.New("no garage task")

// GarageRun runs garage.sh (ACTION read or apply) on the node where the
// garage service's task runs, and returns what it read. Its output holds
// the key's secret: it is returned, never passed to a log.
func GarageRun(ctx context.Context, inv *engine.Inventory, nodes []string, r site.BackupRepository, action string) (garageState, error) {
	text, err := script.Render("backup/garage.sh", map[string]any{"Service": garageService, "Bucket": r.Bucket, "Key": GarageKeyName(r.Name)})
	if err != nil {
		return garageState{}, err
	}
	for _, n := range nodes {
		h, err := inv.Get(ctx, n)
		if err != nil {
			return garageState{}, err
		}
		out, err := h.Run(ctx, text, host.RunOpts{Sudo: true, Env: map[string]string{"ACTION": action}})
		var ee *host.ExitError
		if errors.As(err, &ee) && ee.Code == 3 {
			continue
		}
		if err != nil {
			return garageState{}, engine.WithHint(fmt.Errorf("garage on %s: %w", n, err), "the garage app must be deployed and its layout applied (docs/operations.md)")
		}
		return parseGarage(out), nil
	}
	return garageState{}, engine.WithHint(errNoGarageTask, "deploy the garage app first (collabstack apply)")
}

// garageStep makes the repository's bucket and key in the site's Garage
// and keeps the key in the secrets file, where the nodes' environment
// files come from.
func garageStep(r site.BackupRepository, nodes []site.Host) engine.Step {
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	idName, secretName := site.GarageKeySecrets(r.Name)
	return &engine.Func{
		StepID: GarageID(r.Name), Name: "Make the backup bucket " + r.Bucket + " and its key in the site's Garage (" + GarageNotOffsite + ")", On: names[0], Comp: Component,
		Needs: []string{apps.DeployID(garageApp)},
		CheckFunc: func(ctx context.Context, env *engine.Env) (bool, error) {
			g, err := GarageRun(ctx, env.Hosts, names, r, "read")
			if err != nil {
				return false, err
			}
			id, _ := env.Secrets.Get(idName)
			sec, _ := env.Secrets.Get(secretName)
			return g.Bucket && g.Allowed && g.KeyID != "" && g.KeyID == id && g.Secret == sec, nil
		},
		ApplyFunc: func(ctx context.Context, env *engine.Env) error {
			g, err := GarageRun(ctx, env.Hosts, names, r, "apply")
			if err != nil {
				return err
			}
			if !g.Bucket || !g.Allowed || g.KeyID == "" || g.Secret == "" {
				return fmt.Errorf("garage did not make the bucket %s or the key %s with read and write on it", r.Bucket, GarageKeyName(r.Name))
			}
			if err := env.Secrets.Set(idName, g.KeyID); err != nil {
				return err
			}
			return env.Secrets.Set(secretName, g.Secret)
		},
	}
}
