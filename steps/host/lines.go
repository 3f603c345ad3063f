package host

import (
	"bytes"
	"sync"
)

// LineWriter is an io.Writer that calls fn once per complete line.
// Flush emits a trailing partial line. It is safe for concurrent use so
// stdout and stderr can share one.
type LineWriter struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
	// Keep, when > 0, retains the last Keep lines for error messages.
	Keep int
	tail []string
}

// NewLineWriter returns a LineWriter calling fn (which may be nil).
func NewLineWriter(fn func(string), keep int) *LineWriter {
	return &LineWriter{fn: fn, Keep: keep}
}

func (w *LineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(string(bytes.TrimRight(w.buf[:i], "\r")))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

func (w *LineWriter) emit(line string) {
	if w.Keep > 0 {
		w.tail = append(w.tail, line)
		if len(w.tail) > w.Keep {
			w.tail = w.tail[len(w.tail)-w.Keep:]
		}
	}
	if w.fn != nil {
		w.fn(line)
	}
}

// Flush emits what is left after the last newline.
func (w *LineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(string(w.buf))
		w.buf = nil
	}
}

// Tail returns the last retained lines joined by newlines.
func (w *LineWriter) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b bytes.Buffer
	for i, l := range w.tail {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return b.String()
}
