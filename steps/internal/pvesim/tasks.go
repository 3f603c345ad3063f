package pvesim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// task is a worker task: PVE forks a worker per long operation and
// returns its UPID at once.
type task struct {
	mu                  sync.Mutex // guards done, exit, end, log; taken after Server.mu
	upid, typ, id, user string
	pid, pstart         int
	start, end          int64
	done                bool
	exit                string
	log                 []string
	polls               int // status reads left that still say "running"
}

// startTask registers a task and runs work in the background. work gets
// a log function; its error becomes the exit status.
func (s *Server) startTask(c *call, typ, id string, work func(ctx context.Context, logf func(string, ...any)) error) (string, *apiError) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return "", errServer("simulator is shutting down")
	}
	s.nextPID++
	now := time.Now().Unix()
	t := &task{typ: typ, id: id, user: c.user, pid: s.nextPID, pstart: 100000 + s.nextPID, start: now, polls: s.opts.TaskPolls}
	t.upid = fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", s.opts.Node, t.pid, t.pstart, t.start, typ, id, c.user)
	s.tasks[t.upid] = t
	s.taskOrder = append(s.taskOrder, t.upid)
	s.workers.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.workers.Done()
		logf := func(format string, args ...any) {
			t.mu.Lock()
			t.log = append(t.log, fmt.Sprintf(format, args...))
			t.mu.Unlock()
		}
		err := work(s.ctx, logf)
		t.mu.Lock()
		defer t.mu.Unlock()
		t.done, t.end = true, time.Now().Unix()
		if err != nil {
			t.exit = strings.TrimSpace(err.Error())
			t.log = append(t.log, "TASK ERROR: "+t.exit)
		} else {
			t.exit = "OK"
			t.log = append(t.log, "TASK OK")
		}
	}()
	return t.upid, nil
}

// Tasks lists the UPIDs of every task started, oldest first.
func (s *Server) Tasks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.taskOrder...)
}

// WaitTasks blocks until every task started so far has finished.
func (s *Server) WaitTasks(ctx context.Context) error {
	for {
		s.mu.Lock()
		busy := false
		for _, t := range s.tasks {
			t.mu.Lock()
			busy = busy || !t.done
			t.mu.Unlock()
		}
		s.mu.Unlock()
		if !busy {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (s *Server) findTask(c *call) (*task, *apiError) {
	upid := c.vars["upid"]
	f := strings.Split(upid, ":")
	if len(f) < 9 || f[0] != "UPID" {
		return nil, errParam("upid", "unable to parse worker upid '"+upid+"'")
	}
	t, ok := s.tasks[upid]
	if !ok {
		return nil, errServer("no such task")
	}
	// Tasks of other users need Sys.Audit on the node.
	if t.user != c.user {
		s.mu.Unlock()
		e := c.check("/nodes/"+s.opts.Node, []string{"Sys.Audit"}, false)
		s.mu.Lock()
		if e != nil {
			return nil, e
		}
	}
	return t, nil
}

func (s *Server) taskStatus(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.findTask(c)
	if e != nil {
		return nil, e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]any{"upid": t.upid, "node": s.opts.Node, "pid": t.pid, "pstart": t.pstart,
		"starttime": t.start, "type": t.typ, "id": t.id, "user": t.user}
	if !t.done || t.polls > 0 {
		if t.done {
			t.polls--
		}
		out["status"] = "running"
		return out, nil
	}
	out["status"] = "stopped"
	out["exitstatus"] = t.exit
	out["endtime"] = t.end
	return out, nil
}

func (s *Server) taskLog(c *call) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, e := s.findTask(c)
	if e != nil {
		return nil, e
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	start, limit := 0, 50
	if v := c.params["start"]; v != "" {
		start, _ = strconv.Atoi(v)
	}
	if v := c.params["limit"]; v != "" {
		limit, _ = strconv.Atoi(v)
	}
	out := []map[string]any{}
	for i := start; i < len(t.log) && len(out) < limit; i++ {
		out = append(out, map[string]any{"n": i + 1, "t": t.log[i]})
	}
	return out, nil
}
