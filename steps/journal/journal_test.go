package journal

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTornLastLineIsSkippedAndNextRecordStaysWhole(t *testing.T) {
	p := filepath.Join(t.TempDir(), "journal.jsonl")
	j, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(Record{Run: "r1", Kind: KindRunStart, Command: "apply"})
	j.Append(Record{Run: "r1", Kind: KindStep, Step: "a", Status: StatusChanged})
	j.Close()
	// A kill in mid-write leaves half a line.
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"run":"r1","kind":"step","st`)
	f.Close()

	j, _ = Open(p)
	j.Append(Record{Run: "r2", Kind: KindRunStart, Command: "apply"})
	j.Append(Record{Run: "r2", Kind: KindRunEnd, Status: StatusOK})
	j.Close()

	recs, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("want 4 whole records, got %d: %+v", len(recs), recs)
	}
	runs := Runs(recs)
	if len(runs) != 2 || runs[0].Finished || !runs[1].Finished || runs[0].Steps["a"].Status != StatusChanged {
		t.Fatalf("runs: %+v %+v", runs[0], runs[1])
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode %v", st.Mode().Perm())
	}
}

func TestMissingJournalIsEmpty(t *testing.T) {
	recs, err := Read(filepath.Join(t.TempDir(), "none"))
	if err != nil || recs != nil || Last(recs) != nil {
		t.Fatalf("%v %v", recs, err)
	}
}

func TestAKilledRunShowsTheStepItWasChanging(t *testing.T) {
	recs := []Record{
		{Run: "r1", Kind: KindRunStart, Command: "apply"},
		{Run: "r1", Kind: KindApply, Step: "a"},
		{Run: "r1", Kind: KindStep, Step: "a", Status: StatusChanged},
		{Run: "r1", Kind: KindApply, Step: "b"},
		// killed here
		{Run: "r2", Kind: KindRunStart, Command: "apply"},
		{Run: "r2", Kind: KindStep, Step: "a", Status: StatusDone},
		{Run: "r2", Kind: KindApply, Step: "b"},
		{Run: "r2", Kind: KindStep, Step: "b", Status: StatusChanged},
		{Run: "r2", Kind: KindRunEnd, Status: StatusOK},
	}
	runs := Runs(recs)
	if len(runs) != 2 || runs[0].Finished || len(runs[0].Applying) != 1 || runs[0].Applying["b"].Step != "b" || runs[0].Steps["b"].Kind != "" {
		t.Fatalf("killed run: %+v", runs[0])
	}
	if !runs[1].Finished || len(runs[1].Applying) != 0 || runs[1].Steps["b"].Status != StatusChanged {
		t.Fatalf("re-run: %+v", runs[1])
	}
}
