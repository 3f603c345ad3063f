package tui

// ring keeps the last lines of a log; older lines are dropped, so a step
// that prints forever holds a fixed amount of memory. Its buffer grows up
// to the capacity as lines come, so a quiet step costs little.
type ring struct {
	buf     []string
	start   int // index of the oldest line
	n       int // lines held
	dropped int // lines dropped so far
	cap     int
}

func newRing(capacity int) *ring { return &ring{cap: max(capacity, 1)} }

// add appends a line, dropping the oldest when full; it reports whether a
// line was dropped.
func (r *ring) add(line string) bool {
	switch {
	case r.n == r.cap:
		r.buf[r.start] = line
		r.start = (r.start + 1) % len(r.buf)
		r.dropped++
		return true
	case r.n < len(r.buf):
		r.buf[(r.start+r.n)%len(r.buf)] = line
	default: // full buffer below the capacity: grow it
		nb := make([]string, r.n, min(r.cap, max(2*r.n, 8)))
		for i := range r.n {
			nb[i] = r.buf[(r.start+i)%len(r.buf)]
		}
		r.buf, r.start = append(nb, line), 0
		r.buf = r.buf[:cap(r.buf)]
	}
	r.n++
	return false
}

// dropOldest removes up to k of the oldest lines and returns how many.
func (r *ring) dropOldest(k int) int {
	k = min(k, r.n)
	for i := range k {
		r.buf[(r.start+i)%len(r.buf)] = ""
	}
	if k > 0 {
		r.start = (r.start + k) % len(r.buf)
	}
	r.n -= k
	r.dropped += k
	return k
}

// len is the number of lines held.
func (r *ring) len() int { return r.n }

// tail returns the last k lines, oldest first.
func (r *ring) tail(k int) []string { return r.window(k, 0) }

// window returns k lines ending skip lines before the newest.
func (r *ring) window(k, skip int) []string {
	skip = max(0, min(skip, r.n-k))
	end := r.n - skip
	begin := max(0, end-k)
	out := make([]string, 0, end-begin)
	for i := begin; i < end; i++ {
		out = append(out, r.buf[(r.start+i)%len(r.buf)])
	}
	return out
}
