package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// emit appends an event to the trace and hands it to OnEvent.
func (s *Sandbox) emit(ev Event) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.mu.Lock()
	ev.Seq = len(s.events) + 1
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	s.events = append(s.events, ev)
	s.mu.Unlock()
	if s.spec.OnEvent != nil {
		s.spec.OnEvent(ev)
	}
}

// Events returns a copy of the trace so far, starting at index from.
func (s *Sandbox) Events(from int) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if from < 0 || from > len(s.events) {
		from = len(s.events)
	}
	return append([]Event(nil), s.events[from:]...)
}

// PID is the agent's PID as the host sees it.
func (s *Sandbox) PID() int { return s.pid }

// InnerPID is the agent's PID as it sees itself (1 in a new PID namespace).
func (s *Sandbox) InnerPID() int { return s.innerPID }

// Flags are the CLONE_NEW* flags the agent was cloned with (with
// CLONE_NEWUSER when it was added for rootless use).
func (s *Sandbox) Flags() uintptr { return s.flags }

// Rootless reports whether a user namespace was added for an unprivileged
// caller.
func (s *Sandbox) Rootless() bool { return s.rootless }

// Confined returns the CLONE_NEW* flags a confined engine added to the
// sandbox's own (0 for an ordinary engine): the namespaces it is in that
// the lesson did not ask for.
func (s *Sandbox) Confined() uintptr { return s.confined }

// StartIDs are the agent's namespaces as it reported them when it was
// ready, before any request: those clone (and a confined engine) made.
func (s *Sandbox) StartIDs() IDs {
	out := IDs{}
	for k, v := range s.startIDs {
		out[k] = v
	}
	return out
}

// Label is the sandbox's name in prompts.
func (s *Sandbox) Label() string { return s.spec.Label }

// IDs reads the agent's namespace identities now, from the host.
func (s *Sandbox) IDs() (IDs, error) { return ReadIDs(s.pid) }

// Stderr returns what the agent wrote to its stderr (bounded), for
// diagnostics when it dies.
func (s *Sandbox) Stderr() string { return s.stderr.String() }

func (s *Sandbox) readReplies(r io.ReadCloser) {
	defer r.Close()
	lr := newLineReader(r)
	var cause error
	for {
		var rep reply
		err := lr.next(&rep)
		if err != nil {
			cause = err
			break
		}
		for _, ev := range rep.Events {
			s.emit(s.toHost(ev))
		}
		s.mu.Lock()
		ch := s.pending[rep.ID]
		delete(s.pending, rep.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
	if errors.Is(cause, io.EOF) {
		// Say how it ended ("signal: killed"): give the reaper a moment.
		how := "exited"
		select {
		case <-s.exited:
			if st := s.cmd.ProcessState; st != nil {
				how = "ended: " + st.String()
			}
		case <-time.After(500 * time.Millisecond):
		}
		cause = fmt.Errorf("%w: the agent (pid %d) %s", ErrAgent, s.pid, how)
	}
	if msg := strings.TrimSpace(s.stderr.String()); msg != "" {
		cause = fmt.Errorf("%w: %s", cause, msg)
	}
	s.mu.Lock()
	s.dead = cause
	pend := s.pending
	s.pending = map[int]chan reply{}
	s.mu.Unlock()
	close(s.gone)
	for _, ch := range pend {
		close(ch)
	}
}

// await waits for the reply to request id, bounded by the sandbox timeout.
func (s *Sandbox) await(ctx context.Context, id int, ch chan reply) (reply, error) {
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		if !ok {
			s.mu.Lock()
			err := s.dead
			s.mu.Unlock()
			if err == nil {
				err = fmt.Errorf("%w: no reply", ErrAgent)
			}
			return reply{}, err
		}
		return r, nil
	case <-t.C:
		s.drop(id)
		return reply{}, fmt.Errorf("%w: no reply within %v", ErrAgent, s.timeout)
	case <-ctx.Done():
		s.drop(id)
		return reply{}, ctx.Err()
	}
}

func (s *Sandbox) drop(id int) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// call sends one request and waits for its reply; the reply's own error
// comes back as the error.
func (s *Sandbox) call(ctx context.Context, req request) (reply, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return reply{}, ErrClosed
	}
	if s.dead != nil {
		err := s.dead
		s.mu.Unlock()
		return reply{}, err
	}
	s.nextID++
	req.ID = s.nextID
	ch := make(chan reply, 1)
	s.pending[req.ID] = ch
	s.mu.Unlock()

	s.wmu.Lock()
	err := writeLine(s.toAgent, req)
	s.wmu.Unlock()
	if err != nil {
		s.drop(req.ID)
		// A broken pipe means the agent is gone; the reply reader knows
		// how it ended, which says more to a learner than EPIPE.
		select {
		case <-s.gone:
			s.mu.Lock()
			dead := s.dead
			s.mu.Unlock()
			return reply{}, dead
		case <-time.After(time.Second):
		}
		return reply{}, fmt.Errorf("%w: send %s: %w", ErrAgent, req.Op, err)
	}
	r, err := s.await(ctx, req.ID, ch)
	if err != nil {
		return r, err
	}
	return r, r.Err.errorOf()
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// toHost turns the pid and tid a process in the sandbox recorded (getpid
// and gettid as its own PID namespace numbers them) into the host's. It
// looks at the agent and its children (the orphan maker reports through
// the agent) and reads the NSpid line of each of their threads from the
// host's /proc. An id it cannot find stays as recorded, and the strace
// cross-check then fails on it.
func (s *Sandbox) toHost(ev Event) Event {
	if s.pid == 0 {
		return ev
	}
	inner := func(path string) int {
		b, err := os.ReadFile(path)
		if err != nil {
			return -1
		}
		st, err := parseStatus(b)
		if err != nil || len(st.NSpid) == 0 {
			return -1
		}
		return st.NSpid[len(st.NSpid)-1]
	}
	procs := []int{s.pid}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", s.pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", s.pid, t.Name()))
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				procs = append(procs, n)
			}
		}
	}
	for _, p := range procs {
		if inner(fmt.Sprintf("/proc/%d/status", p)) != ev.PID {
			continue
		}
		if ev.PID != p {
			ev.NSPID = ev.PID
		}
		ev.PID = p
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", p))
		for _, t := range tasks {
			if inner(fmt.Sprintf("/proc/%d/task/%s/status", p, t.Name())) == ev.TID {
				ev.TID, _ = strconv.Atoi(t.Name())
				break
			}
		}
		break
	}
	return ev
}
