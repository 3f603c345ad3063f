package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/collabstack/collabstack/steps/engine"
	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/script"
)

// Figures is what one node's backup did, from restic's summary.
type Figures struct {
	Node          string
	Snapshot      string
	FilesNew      int
	FilesChanged  int
	FilesSame     int
	DataAdded     int64 // bytes restic added to the repository
	BytesScanned  int64
	Duration      time.Duration
	RepositoryErr error
}

// summary is restic's JSON summary line of `backup --json`.
type summary struct {
	MessageType         string  `json:"message_type"`
	PercentDone         float64 `json:"percent_done"`
	FilesNew            int     `json:"files_new"`
	FilesChanged        int     `json:"files_changed"`
	FilesUnmodified     int     `json:"files_unmodified"`
	DataAdded           int64   `json:"data_added"`
	TotalBytesProcessed int64   `json:"total_bytes_processed"`
	SnapshotID          string  `json:"snapshot_id"`
}

// Now backs up every node, the manager last (it applies the retention
// policy after the others have written). runTag names the run on every
// node; progress gets restic's fraction done; out gets the other lines.
// Secrets never reach out: the runner prints none, and the caller
// redacts.
func Now(ctx context.Context, inv *engine.Inventory, nodes []string, runTag string, progress func(node string, done float64), out func(node, line string)) ([]Figures, error) {
	order := append(append([]string(nil), nodes[1:]...), nodes[0])
	var figs []Figures
	for _, n := range order {
		h, err := inv.Get(ctx, n)
		if err != nil {
			return figs, err
		}
		f := Figures{Node: n}
		start := time.Now()
		lines := func(line string) {
			if strings.HasPrefix(line, "{") {
				var s summary
				if json.Unmarshal([]byte(line), &s) == nil {
					switch s.MessageType {
					case "status":
						if progress != nil {
							progress(n, s.PercentDone)
						}
						return
					case "summary":
						f.Snapshot, f.FilesNew, f.FilesChanged, f.FilesSame = s.SnapshotID, f.FilesNew+s.FilesNew, f.FilesChanged+s.FilesChanged, f.FilesSame+s.FilesUnmodified
						f.DataAdded += s.DataAdded
						f.BytesScanned += s.TotalBytesProcessed
						return
					}
				}
			}
			if out != nil && !strings.HasPrefix(line, "exit=") {
				out(n, line)
			}
		}
		_, err = h.Run(ctx, "sh "+Script, host.RunOpts{Sudo: true, Output: lines, Env: map[string]string{"RUN_TAG": runTag, "JSON": "1"}})
		f.Duration = time.Since(start)
		figs = append(figs, f)
		if err != nil {
			return figs, engine.WithHint(fmt.Errorf("back up %s: %w", n, err), "the lines above say why; `journalctl -u collabstack-backup` on %s has the scheduled runs", n)
		}
	}
	return figs, nil
}

// RunTag names a run by its start time (UTC, to the second).
func RunTag(t time.Time) string { return t.UTC().Format("20060102-150405") }

// Last is the result of a node's last backup, scheduled or not.
type Last struct {
	Node      string    `json:"-"`
	Started   time.Time `json:"started"`
	Finished  time.Time `json:"finished"`
	Run       string    `json:"run"`
	OK        bool      `json:"ok"`
	Snapshots string    `json:"snapshots"`
	Added     int64     `json:"added"`
	Error     string    `json:"error"`
	// Never is true when the node has not backed up yet.
	Never bool `json:"-"`
}

// String says it in a line for `status`.
func (l Last) String() string {
	switch {
	case l.Never:
		return "never backed up"
	case !l.OK:
		return fmt.Sprintf("FAILED at %s: %s", l.Finished.Local().Format(time.DateTime), l.Error)
	default:
		return fmt.Sprintf("ok at %s (%s added, run %s)", l.Finished.Local().Format(time.DateTime), Size(l.Added), l.Run)
	}
}

// LastResult reads the result of h's last backup.
func LastResult(ctx context.Context, h host.Host) (Last, error) {
	l := Last{Node: h.Name()}
	data, err := h.ReadFile(ctx, State+"/last.json")
	if errors.Is(err, fs.ErrNotExist) {
		l.Never = true
		return l, nil
	}
	if err != nil {
		return l, err
	}
	if err := json.Unmarshal(data, &l); err != nil {
		return l, fmt.Errorf("%s: %s/last.json is damaged: %w", h.Name(), State, err)
	}
	return l, nil
}

// Size prints a byte count for people.
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Snapshot is one restic snapshot of a node.
type Snapshot struct {
	ID    string    `json:"short_id"`
	Time  time.Time `json:"time"`
	Host  string    `json:"hostname"`
	Tags  []string  `json:"tags"`
	Paths []string  `json:"paths"`
}

// RunTagOf is the run a snapshot belongs to.
func (s Snapshot) RunTagOf() string {
	for _, t := range s.Tags {
		if strings.HasPrefix(t, "run=") {
			return strings.TrimPrefix(t, "run=")
		}
	}
	return ""
}

// List reads the snapshots of the first repository from the manager.
func List(ctx context.Context, mgr host.Host, r Repo) ([]Snapshot, error) {
	out, err := mgr.Run(ctx, resticCommand(r)+" snapshots --json --tag collabstack", host.RunOpts{Sudo: true})
	if err != nil {
		return nil, err
	}
	var snaps []Snapshot
	if err := json.Unmarshal([]byte(out), &snaps); err != nil {
		return nil, fmt.Errorf("read restic's snapshot list: %w", err)
	}
	return snaps, nil
}

// Scratch gives the host that made a backup, with the repository as that
// host reaches it, for the test restore of `backup check`.
type Scratch func(ctx context.Context, node string) (host.Host, Repo, error)

// Check runs restic check on the repository, reading a tenth of its
// data, lists the database dumps of every node's newest backup with
// their sizes, so a missing or empty dump shows, and restores one
// PostgreSQL dump into a scratch container on the node that made it
// (templates/backup/testrestore.sh).
func Check(ctx context.Context, mgr host.Host, r Repo, scratch Scratch, out func(string)) error {
	if _, err := mgr.Run(ctx, resticCommand(r)+" check --read-data-subset=1/10", host.RunOpts{Sudo: true, Output: out}); err != nil {
		return engine.WithHint(fmt.Errorf("restic check of %s: %w", r.Name, err), "the lines above say what is damaged; make a new backup (`collabstack backup --now`) and keep the old repository until it checks")
	}
	snaps, err := List(ctx, mgr, r)
	if err != nil {
		return err
	}
	newest := map[string]Snapshot{}
	for _, s := range snaps {
		if cur, ok := newest[s.Host]; !ok || s.Time.After(cur.Time) {
			newest[s.Host] = s
		}
	}
	type dump struct{ node, snap, file string }
	var pg []dump
	for _, s := range newest {
		ls, err := mgr.Run(ctx, resticCommand(r)+" ls --long --recursive "+host.Quote(s.ID)+" "+State+"/dumps", host.RunOpts{Sudo: true})
		if err != nil {
			return fmt.Errorf("list the dumps of %s's backup %s: %w", s.Host, s.ID, err)
		}
		for _, l := range strings.Split(ls, "\n") {
			f := strings.Fields(l)
			if len(f) >= 7 && strings.HasPrefix(f[0], "-") && (strings.HasSuffix(l, ".pgdump") || strings.HasSuffix(l, ".sql")) {
				if f[3] == "0" {
					return fmt.Errorf("%s's backup %s has an empty dump %s", s.Host, s.ID, f[len(f)-1])
				}
				out(fmt.Sprintf("%s %s: dump %s (%s bytes)", s.Host, s.ID, strings.TrimPrefix(f[len(f)-1], State+"/dumps/"), f[3]))
				if strings.HasSuffix(l, ".pgdump") {
					pg = append(pg, dump{s.Host, s.ID, f[len(f)-1]})
				}
			}
		}
	}
	if len(pg) == 0 || scratch == nil {
		out("no PostgreSQL dump to test-restore")
		return nil
	}
	// One database: the largest-named last is as good as any; prefer one
	// that is not the maintenance database postgres.
	d := pg[0]
	for _, x := range pg {
		if !strings.HasSuffix(x.file, "/postgres.pgdump") {
			d = x
			break
		}
	}
	h, nr, err := scratch(ctx, d.node)
	if err != nil {
		return err
	}
	rel := strings.TrimPrefix(d.file, State+"/dumps/")
	svc, file, _ := strings.Cut(rel, "/")
	text, err := script.Render("backup/testrestore.sh", map[string]any{"Snapshot": d.snap, "File": d.file, "Service": svc, "DB": strings.TrimSuffix(file, ".pgdump"), "Restic": resticArgs(nr)})
	if err != nil {
		return err
	}
	if _, err := h.Run(ctx, text, host.RunOpts{Sudo: true, Output: out}); err != nil {
		return engine.WithHint(fmt.Errorf("test restore of %s from %s's backup %s: %w", rel, d.node, d.snap, err), "the lines above say why; the dump may be damaged: make a new backup (`collabstack backup --now`)")
	}
	return nil
}
