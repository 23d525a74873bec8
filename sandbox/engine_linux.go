package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Engine starts sandboxes and remembers them, so that one Close (on quit,
// on a signal, after a panic) closes every sandbox nslab made.
type Engine struct {
	host  IDs
	agent agentExe // what agents start from; exe is its path
	exe   string
	spawn chan func()
	conf  *confinement // nil unless NewConfinedEngine made the engine

	mu     sync.Mutex
	boxes  map[*Sandbox]struct{}
	closed bool
	done   chan struct{}
	cgSeq  int // the last child cgroup's number (CgroupName)
}

// NewEngine records the host's namespace identities (the namespaces nslab
// itself runs in) and starts the spawner thread.
func NewEngine() (*Engine, error) {
	return newEngineFrom(selfDir(), buildFingerprint())
}

// newEngineFrom is NewEngine with the directory to find the slim agent
// binary in and the build fingerprint it must have (tests give theirs: a
// test binary's build differs from any agent binary's).
func newEngineFrom(agentDir, build string) (*Engine, error) {
	host, err := ReadIDs(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("read nslab's own namespaces: %w", err)
	}
	// The fallback for agents, and what probes and the agents' own
	// children run: /proc/self/exe.
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		return nil, fmt.Errorf("nslab re-executes itself through /proc/self/exe, which is missing (is /proc mounted?): %w", err)
	}
	agent := findAgent(agentDir, build)
	e := &Engine{host: host, agent: agent, exe: agent.path, spawn: make(chan func()), boxes: map[*Sandbox]struct{}{}, done: make(chan struct{})}
	ready := make(chan struct{})
	go e.spawner(ready)
	<-ready
	return e, nil
}

// spawner starts every agent from one OS thread that lives as long as the
// engine. Pdeathsig fires when the *thread* that forked the child exits,
// not the process: started from an ordinary goroutine, an agent could be
// killed whenever the Go runtime retires that thread.
func (e *Engine) spawner(ready chan<- struct{}) {
	runtime.LockOSThread()
	// Never unlocked: when the engine closes, this thread exits with the
	// goroutine, and any agent still alive gets its SIGKILL.
	close(ready)
	for {
		select {
		case f := <-e.spawn:
			f()
		case <-e.done:
			// Every agent start runs here: none can be using the file.
			e.agent.close()
			return
		}
	}
}

// AgentNote says which executable this engine starts its agents from,
// and why: the slim agent binary, or nslab itself.
func (e *Engine) AgentNote() string { return e.agent.note }

// HostIDs are the identities of the namespaces nslab runs in.
func (e *Engine) HostIDs() IDs {
	out := IDs{}
	for k, v := range e.host {
		out[k] = v
	}
	return out
}

// ObserveHost takes a snapshot of what the host (nslab's own namespaces)
// sees.
func (e *Engine) ObserveHost(ctx context.Context, views []View) Snapshot {
	_ = ctx
	views, withheld := e.confinedHostViews(views)
	snap := ObserveHost(views)
	for v, why := range withheld {
		if snap.Errs == nil {
			snap.Errs = ViewErrs{}
		}
		snap.Errs[v] = why
		snap.Views = append(snap.Views, v)
	}
	return snap
}

// Close closes every sandbox still open and stops the spawner. It is
// idempotent and bounded.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	var boxes []*Sandbox
	for b := range e.boxes {
		boxes = append(boxes, b)
	}
	e.mu.Unlock()
	var errs []error
	for _, b := range boxes {
		errs = append(errs, b.Close())
	}
	close(e.done)
	if e.conf != nil {
		// After every agent: the cgroup is empty by now, or what is
		// left in it (an entered shell's outer process) is killed.
		errs = append(errs, e.conf.cg.remove())
	}
	return errors.Join(errs...)
}

func (e *Engine) forget(s *Sandbox) {
	e.mu.Lock()
	delete(e.boxes, s)
	e.mu.Unlock()
}

// Sandbox is one running agent and the namespaces it holds.
type Sandbox struct {
	eng      *Engine
	spec     Spec
	flags    uintptr // as given to clone, including an added CLONE_NEWUSER
	rootless bool
	confined uintptr // the CLONE_NEW* flags a confined engine added
	startIDs IDs     // the agent's namespaces when it said it was ready
	cmd      *exec.Cmd
	pid      int
	innerPID int
	timeout  time.Duration

	toAgent io.WriteCloser
	wmu     sync.Mutex

	mu      sync.Mutex
	nextID  int
	pending map[int]chan reply
	events  []Event
	veths   []string
	hostOps []HostOp // what the engine did on the host for this sandbox (HostOps)
	closed  bool
	dead    error
	emitMu  sync.Mutex

	exited  chan struct{}
	gone    chan struct{} // closed once dead is set: the reply stream ended
	stderr  *limitedBuffer
	closeMu sync.Mutex

	cgroup     *ChildCgroup // Spec.ChildCgroup's cgroup, nil without one
	cgroupNote string       // why there is none although asked
}

// Start starts an agent with clone(spec.Flags) and waits for it to say it
// is ready. The clone call is the first event of the sandbox's trace.
func (e *Engine) Start(ctx context.Context, spec Spec) (*Sandbox, error) {
	if spec.Flags&^AllFlags() != 0 {
		return nil, fmt.Errorf("%w: flags %#x are not CLONE_NEW* flags", ErrBadInput, spec.Flags&^AllFlags())
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	e.mu.Unlock()

	s := &Sandbox{eng: e, spec: spec, flags: spec.Flags, pending: map[int]chan reply{},
		exited: make(chan struct{}), gone: make(chan struct{}), stderr: &limitedBuffer{max: 16 << 10}, timeout: spec.Timeout}
	if s.timeout <= 0 {
		s.timeout = defaultTimeout
	}
	euid := os.Geteuid()
	if spec.Rootless == RootlessAlways || (spec.Rootless == RootlessAuto && euid != 0) {
		s.rootless = true
		s.flags |= CloneNewUser
	}
	if e.conf != nil {
		// A confined learner's sandbox never shares a namespace with the
		// host, and never maps to root's or nobody's ids.
		s.rootless = false
		s.confined = e.conf.flags &^ s.flags
		s.flags |= e.conf.cloneFlags
	}

	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("agent pipe: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("agent pipe: %w", err)
	}
	hostJSON, _ := json.Marshal(e.host)
	cmd := exec.Command(e.exe, hiddenAgent)
	cmd.Env = append(cleanEnv(), envAgentHost+"="+string(hostJSON))
	cmd.ExtraFiles = []*os.File{reqR, repW}
	cmd.Stderr = s.stderr
	cmd.Dir = "/"
	cmd.WaitDelay = time.Second
	attr := &syscall.SysProcAttr{
		Cloneflags: s.flags,
		Setsid:     true,
		Pdeathsig:  syscall.SIGKILL,
	}
	var maps *idMaps
	if (s.rootless || e.conf != nil) && s.flags&CloneNewUser != 0 {
		if e.conf != nil {
			maps, err = newRangeMaps(e.conf.c.IDs)
			cmd.Env = append(cmd.Env, envAgentConfined+"=1")
		} else {
			maps, err = newIDMaps(spec.MapRootToNobody)
		}
		if err != nil {
			closeAll(reqR, reqW, repR, repW)
			return nil, err
		}
		// The agent waits on fd 5 until the engine wrote its maps, then
		// becomes root of its namespace (agentBecomeRoot).
		cmd.ExtraFiles = append(cmd.ExtraFiles, maps.r)
		cmd.Env = append(cmd.Env, envAgentMaps+"=1")
		// Without Go's own map writing (so the trace shows nslab's writes
		// as made), the child execs the agent while its uid is still
		// unmapped, and execve would drop every capability. Ambient
		// capabilities survive an execve by an unprivileged uid.
		attr.AmbientCaps = maps.caps
	}
	if spec.ChildCgroup {
		s.startInCgroup(attr)
	}
	cmd.SysProcAttr = attr
	s.cmd = cmd

	type started struct {
		tid    int
		err    error
		events []Event
		ops    []HostOp
	}
	res := make(chan started, 1)
	select {
	case e.spawn <- func() {
		// On the spawner thread: the clone and the map writes are its calls.
		st := started{tid: unix.Gettid(), err: cmd.Start()}
		if st.err == nil && e.conf != nil {
			st.ops, st.err = e.conf.started(cmd.Process.Pid)
		}
		if st.err == nil && maps != nil {
			st.events, st.err = maps.write(cmd.Process.Pid)
			if st.err == nil && e.conf != nil {
				st.ops = append(st.ops, e.conf.mapsWritten(cmd.Process.Pid))
			}
		}
		res <- st
	}:
	case <-e.done:
		closeAll(reqR, reqW, repR, repW)
		maps.close()
		return nil, ErrClosed
	}
	st := <-res
	err = st.err
	reqR.Close()
	repW.Close()
	maps.close()
	callName, issued := issuedClone(attr)
	cgFD := -1
	if attr.UseCgroupFD {
		cgFD = attr.CgroupFD
	}
	clone := Event{Time: time.Now(), Syscall: callName, Args: cloneArgsInto(callName, issued, cgFD), PID: os.Getpid(), TID: st.tid, Note: cloneNote(s.flags)}
	if s.cgroup != nil {
		clone.Note += "; born in the cgroup " + s.cgroup.Path()
	}
	if cmd.Process == nil {
		s.removeCgroup()
		reqW.Close()
		repR.Close()
		clone.Ret, clone.Errno = -1, errnoName(err)
		s.emit(clone)
		return nil, s.startError(err)
	}
	s.pid = cmd.Process.Pid
	s.toAgent = reqW
	clone.Ret = int64(s.pid)
	s.emit(clone)
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	for _, ev := range st.events {
		s.emit(ev)
	}
	for _, op := range st.ops {
		s.addHostOp(op)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("start sandbox agent: %w", err)
	}

	hello := make(chan reply, 1)
	s.mu.Lock()
	s.pending[0] = hello
	s.mu.Unlock()
	go s.readReplies(repR)

	e.mu.Lock()
	e.boxes[s] = struct{}{}
	e.mu.Unlock()

	r, err := s.await(ctx, 0, hello)
	if err == nil && r.Err != nil {
		err = r.Err.errorOf()
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("start sandbox agent: %w", err)
	}
	s.innerPID = r.PID
	s.startIDs = r.IDs
	return s, nil
}
