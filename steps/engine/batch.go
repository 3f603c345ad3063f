package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/layout"
)

// Precheck is a read-only check that a step can have run ahead of its
// turn, together with the other prechecks of its host, in one round trip
// (issue 23: a no-op re-run is mostly checks, and each check used to be
// one SSH command). The script runs as root with `sh`, stdin empty: a
// check that needs a secret on stdin is not a Precheck.
type Precheck struct {
	Script string
	Env    map[string]string
}

// PrecheckResult is what the batched run of one Precheck gave: its
// standard output and its exit status (its standard error is dropped: a
// check that fails is checked again live, which shows why).
type PrecheckResult struct {
	Out  string
	Code int
}

// Prechecker is a step whose Check can be run ahead as a Precheck. A nil
// Precheck (or an error) leaves the step to check live, as any other.
type Prechecker interface {
	Precheck(ctx context.Context, env *Env) (*Precheck, error)
}

// key names a precheck by everything that decides its result: its
// environment (as host.EnvPrefix writes it, names sorted) and its script.
func (p *Precheck) key() string {
	sum := sha256.Sum256([]byte(host.EnvPrefix(p.Env) + p.Script))
	return hex.EncodeToString(sum[:])
}

// prechecks holds, per host, the results of the batch run ahead. A result
// is used only while nothing was applied anywhere in the run: after the
// first change, every check reads live state again. And only for exactly
// the script the step renders at its turn (the key), so a check whose
// data changed in between never takes an old answer.
type prechecks struct {
	applied atomic.Bool
	mu      sync.Mutex
	hosts   map[string]*hostPrechecks
}

type hostPrechecks struct {
	once    sync.Once
	results map[string]PrecheckResult
}

// Prechecked returns the result of p when the runner ran exactly p ahead
// on this step's host and nothing was applied since; ok is false when the
// step must check live.
func (e *Env) Prechecked(p *Precheck) (PrecheckResult, bool) {
	if e.pre == nil || p == nil || e.Host == nil || e.pre.applied.Load() {
		return PrecheckResult{}, false
	}
	e.pre.mu.Lock()
	hp := e.pre.hosts[e.Host.Name()]
	e.pre.mu.Unlock()
	if hp == nil || hp.results == nil {
		return PrecheckResult{}, false
	}
	r, ok := hp.results[p.key()]
	return r, ok
}

// batch runs, once per host and before the first change of the run, the
// prechecks of every step of the plan on that host in one command.
func (r *Runner) batch(ctx context.Context, h host.Host, mkEnv func(Step) *Env) {
	pre := r.pre
	if pre.applied.Load() {
		return
	}
	pre.mu.Lock()
	hp := pre.hosts[h.Name()]
	if hp == nil {
		hp = &hostPrechecks{}
		pre.hosts[h.Name()] = hp
	}
	pre.mu.Unlock()
	hp.once.Do(func() {
		var list []*Precheck
		seen := map[string]bool{}
		for _, id := range r.Plan.Order() {
			s := r.Plan.steps[id]
			pc, ok := s.(Prechecker)
			if !ok || s.HostName() != h.Name() || !r.onlyHere(id, h.Name(), map[string]bool{}) {
				continue
			}
			p, err := pc.Precheck(ctx, mkEnv(s))
			if err != nil || p == nil || seen[p.key()] {
				continue
			}
			seen[p.key()] = true
			list = append(list, p)
		}
		if len(list) < 2 {
			return // one check alone gains nothing from a batch
		}
		script, mark := BatchScript(list)
		out, err := h.Run(ctx, "sh -s", host.RunOpts{Sudo: true, Stdin: []byte(script)})
		if err != nil {
			return // each step checks live instead
		}
		results, ok := ParseBatch(out, mark, list)
		if !ok {
			return
		}
		pre.mu.Lock()
		hp.results = results
		pre.mu.Unlock()
	})
}

// onlyHere reports whether every step id comes after, however far back,
// runs on host name, on this machine or on no host. Only such a step's check is run
// ahead: one that comes after work on another host may read what that
// work leaves (a key, a token), and working out its script early could
// even dial a host that does not exist yet.
func (r *Runner) onlyHere(id, name string, seen map[string]bool) bool {
	for _, d := range r.Plan.steps[id].After() {
		if seen[d] {
			continue
		}
		seen[d] = true
		ds, ok := r.Plan.steps[d]
		if !ok {
			return false
		}
		if hn := ds.HostName(); (hn != "" && hn != name && hn != layout.LocalHost) || !r.onlyHere(d, name, seen) {
			return false
		}
	}
	return true
}

// BatchScript is one shell script that runs every precheck in its own
// `sh` with its environment, stdin from /dev/null, and prints each one's
// output (base64) and exit status after a line with mark. The scripts go
// in as quoted here-documents, so nothing in them is read by the outer
// shell.
func BatchScript(list []*Precheck) (script, mark string) {
	b := make([]byte, 12)
	rand.Read(b)
	mark = "COLLABSTACK_BATCH_" + hex.EncodeToString(b)
	var sb strings.Builder
	sb.WriteString("set -u\nd=$(mktemp -d)\ntrap 'rm -rf \"$d\"' EXIT\n")
	for i, p := range list {
		delim := mark + "_EOF"
		for strings.Contains(p.Script, delim) {
			delim += "_"
		}
		fmt.Fprintf(&sb, "cat > \"$d/%d.sh\" <<'%s'\n%s\n%s\n", i, delim, p.Script, delim)
		fmt.Fprintf(&sb, "(%s/bin/sh \"$d/%d.sh\") </dev/null >\"$d/%d.out\" 2>/dev/null; c=$?\n", host.EnvPrefix(p.Env), i, i)
		fmt.Fprintf(&sb, "printf '%%s %d %%s\\n' %s \"$c\"; base64 -w0 \"$d/%d.out\"; echo\n", i, host.Quote(mark), i)
	}
	return sb.String(), mark
}

// ParseBatch reads BatchScript's output back into one result per
// precheck; ok is false unless every precheck's result is there.
func ParseBatch(out, mark string, list []*Precheck) (map[string]PrecheckResult, bool) {
	results := map[string]PrecheckResult{}
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		f := strings.Fields(lines[i])
		if len(f) != 3 || f[0] != mark || i+1 >= len(lines) {
			continue
		}
		n, err1 := strconv.Atoi(f[1])
		code, err2 := strconv.Atoi(f[2])
		body, err3 := base64.StdEncoding.DecodeString(strings.TrimSpace(lines[i+1]))
		if err1 != nil || err2 != nil || err3 != nil || n < 0 || n >= len(list) {
			return nil, false
		}
		results[list[n].key()] = PrecheckResult{Out: string(body), Code: code}
		i++
	}
	if len(results) != len(list) {
		return nil, false
	}
	return results, true
}
