package tui

import (
	"bufio"
	"errors"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// errInputEnded: the questions ran out of input (a script too short).
var errInputEnded = errors.New("the input ended before every question was answered")

// lineReader reads the answers of plain mode. It hands out at most one
// line per Read, so a reader that wraps it in a buffer of its own (huh's
// accessible prompts make a bufio.Scanner per question) never swallows
// the lines meant for the next question; a pipe holding a whole script
// then behaves like a terminal delivering a line at a time.
type lineReader struct {
	src     io.Reader
	r       *bufio.Reader
	pending []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{src: r, r: bufio.NewReader(r)}
}

// Read returns the rest of the current line, or the next line.
func (l *lineReader) Read(p []byte) (int, error) {
	if len(l.pending) == 0 {
		line, err := l.r.ReadBytes('\n')
		if len(line) == 0 {
			return 0, err
		}
		l.pending = line
	}
	n := copy(p, l.pending)
	l.pending = l.pending[n:]
	return n, nil
}

// ReadLine returns the next line without its line ending.
func (l *lineReader) ReadLine() (string, error) {
	var b strings.Builder
	if len(l.pending) > 0 {
		b.Write(l.pending)
		l.pending = nil
		if strings.HasSuffix(b.String(), "\n") {
			return strings.TrimRight(b.String(), "\r\n"), nil
		}
	}
	line, err := l.r.ReadString('\n')
	b.WriteString(line)
	if err != nil && b.Len() == 0 {
		if errors.Is(err, io.EOF) {
			return "", errInputEnded
		}
		return "", err
	}
	return strings.TrimRight(b.String(), "\r\n"), nil
}

// ReadSecret reads a password without echo on a terminal, or a line from
// a script.
func (l *lineReader) ReadSecret() (string, error) {
	if f, ok := l.src.(*os.File); ok && term.IsTerminal(int(f.Fd())) && len(l.pending) == 0 && l.r.Buffered() == 0 {
		b, err := term.ReadPassword(int(f.Fd()))
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	return l.ReadLine()
}
