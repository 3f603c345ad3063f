package tui

import (
	"bufio"
	"os"
	"testing"
)

// A pipe holding a whole script gives one line per question, even to
// readers that wrap it in a buffer of their own for each question (as
// huh's accessible prompts do).
func TestLineReaderOnAPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := w.WriteString("kopnik\n10.0.0.30\r\nlast"); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lr := newLineReader(r)
	var got []string
	for i := 0; i < 3; i++ {
		sc := bufio.NewScanner(lr) // a fresh scanner per question
		if !sc.Scan() {
			t.Fatalf("question %d saw the end of input", i+1)
		}
		got = append(got, sc.Text())
	}
	if got[0] != "kopnik" || got[1] != "10.0.0.30" || got[2] != "last" {
		t.Fatalf("got %q", got)
	}
	if _, err := lr.ReadLine(); err != errInputEnded {
		t.Fatalf("after the end: %v", err)
	}
}
