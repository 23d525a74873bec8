package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Engine starts sandboxes and remembers them, so that one Close (on quit,
// on a signal, after a panic) closes every sandbox nslab made.
type Engine struct {
	host  IDs
	exe   string
	spawn chan func()

	mu     sync.Mutex
	boxes  map[*Sandbox]struct{}
	closed bool
	done   chan struct{}
}

// NewEngine records the host's namespace identities (the namespaces nslab
// itself runs in) and starts the spawner thread.
func NewEngine() (*Engine, error) {
	host, err := ReadIDs(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("read nslab's own namespaces: %w", err)
	}
	// Agents are started through /proc/self/exe, not the binary's path:
	// the magic link reaches the running binary even if its file was
	// replaced or deleted since, and skips directory permission checks.
	if _, err := os.Stat("/proc/self/exe"); err != nil {
		return nil, fmt.Errorf("nslab re-executes itself through /proc/self/exe, which is missing (is /proc mounted?): %w", err)
	}
	e := &Engine{host: host, exe: "/proc/self/exe", spawn: make(chan func()), boxes: map[*Sandbox]struct{}{}, done: make(chan struct{})}
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
			return
		}
	}
}

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
	return ObserveHost(views)
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
	closed  bool
	dead    error
	emitMu  sync.Mutex

	exited  chan struct{}
	gone    chan struct{} // closed once dead is set: the reply stream ended
	stderr  *limitedBuffer
	closeMu sync.Mutex
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
	if s.rootless && s.flags&CloneNewUser != 0 {
		uid, gid := os.Geteuid(), os.Getegid()
		if spec.MapRootToNobody {
			uid, gid = nobodyID, nobodyID
			// The child keeps the caller's uid 0 outside, which this map
			// leaves unmapped (it would show as 65534 inside, and execve
			// would drop its capabilities). Go switches it to root of the
			// new namespace, nobody outside, before exec; the exec goes
			// through /proc/self/exe, so directories nobody may not search
			// (`go run` builds in one) do not matter.
			attr.Credential = &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true}
		}
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
	cmd.SysProcAttr = attr
	s.cmd = cmd

	startErr := make(chan error, 1)
	select {
	case e.spawn <- func() { startErr <- cmd.Start() }:
	case <-e.done:
		return nil, ErrClosed
	}
	err = <-startErr
	reqR.Close()
	repW.Close()
	callName, issued := issuedClone(attr)
	if err != nil {
		reqW.Close()
		repR.Close()
		s.emit(Event{Syscall: callName, Args: cloneArgs(callName, issued), Ret: -1, Errno: errnoName(err), PID: os.Getpid(), TID: unix.Gettid()})
		return nil, s.startError(err)
	}
	s.pid = cmd.Process.Pid
	s.toAgent = reqW
	s.emit(Event{Syscall: callName, Args: cloneArgs(callName, issued), Ret: int64(s.pid), PID: os.Getpid(), TID: unix.Gettid(),
		Note: cloneNote(s.flags)})
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	if s.rootless {
		s.traceIDMaps()
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
	return s, nil
}

// startError explains a failed clone to a learner.
func (s *Sandbox) startError(err error) error {
	op := "clone(" + FlagString(s.flags) + ")"
	var en syscall.Errno
	if errors.As(err, &en) {
		se := &SyscallError{Op: op, Errno: unix.ErrnoName(en), Err: en}
		if en == unix.EPERM && !s.rootless {
			return fmt.Errorf("%w (not root and no user namespace requested)", se)
		}
		return se
	}
	return fmt.Errorf("%s: %w", op, err)
}

// cleanEnv is nslab's environment without its own internal variables, so a
// sandbox never inherits an instruction meant for another process.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "_NSLAB_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// issuedClone says which syscall Go's os/exec issues for attr and with
// which flags (syscall/exec_linux.go, Go 1.26): clone3 whenever
// CLONE_NEWTIME is asked for (its bit is the exit-signal byte of clone),
// CLONE_VM|CLONE_VFORK unless a user namespace is created (the parent must
// write its ID maps while the child waits), and CLONE_PIDFD because os
// keeps a pidfd for every child on kernels that have it.
func issuedClone(attr *syscall.SysProcAttr) (string, uintptr) {
	flags := attr.Cloneflags
	if flags&CloneNewUser == 0 && attr.Unshareflags&CloneNewUser == 0 {
		flags |= unix.CLONE_VFORK | unix.CLONE_VM
	}
	flags |= unix.CLONE_PIDFD
	if flags&CloneNewTime != 0 {
		return "clone3", flags
	}
	return "clone", flags | uintptr(unix.SIGCHLD)
}

func cloneArgs(call string, flags uintptr) []string {
	if call == "clone3" {
		return []string{"{flags=" + FlagString(flags) + ", exit_signal=SIGCHLD}", "88"}
	}
	return []string{"child_stack=NULL", "flags=" + CloneFlagString(flags)}
}

func cloneNote(flags uintptr) string {
	if flags&AllFlags() == 0 {
		return "no CLONE_NEW* flag: the child shares every namespace with its parent"
	}
	var names []string
	for _, k := range KindsIn(flags) {
		names = append(names, k.Name)
	}
	return "the child starts in new " + strings.Join(names, ", ") + " namespaces"
}

// traceIDMaps records the uid_map/setgroups/gid_map writes that os/exec
// performed for a user namespace, with the values read back from the kernel.
func (s *Sandbox) traceIDMaps() {
	for _, f := range []string{"uid_map", "setgroups", "gid_map"} {
		path := fmt.Sprintf("/proc/%d/%s", s.pid, f)
		b, err := os.ReadFile(path)
		val := strings.Join(strings.Fields(string(b)), " ")
		ev := Event{Syscall: "write", Args: []string{path, strconv.Quote(val)}, Ret: int64(len(b)), PID: os.Getpid(), TID: unix.Gettid()}
		if f == "setgroups" {
			ev.Note = "an unprivileged mapper must deny setgroups before writing gid_map"
		}
		if err != nil {
			ev.Ret, ev.Errno = -1, errnoName(err)
		}
		s.emit(ev)
	}
}

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
			s.emit(ev)
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

// Unshare asks the agent to call unshare(flags) on its main thread.
func (s *Sandbox) Unshare(ctx context.Context, flags uintptr) error {
	_, err := s.call(ctx, request{Op: opUnshare, Flags: uint64(flags)})
	return err
}

// Setns asks the agent to join the kind namespace of process pid, passing
// nstype to setns(2) (0: no check; a wrong kind: EINVAL).
func (s *Sandbox) Setns(ctx context.Context, pid int, kind string, nstype uintptr) error {
	_, err := s.call(ctx, request{Op: opSetns, PID: pid, Kind: kind, NSType: uint64(nstype)})
	return err
}

// SetHostname sets the sandbox's hostname. The agent refuses unless its UTS
// namespace differs from the host's.
func (s *Sandbox) SetHostname(ctx context.Context, name string) error {
	if err := ValidateHostname(name); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opHostname, Name: name})
	return err
}

// SetDomainname sets the sandbox's NIS domain name, with the same checks.
func (s *Sandbox) SetDomainname(ctx context.Context, name string) error {
	if err := ValidateHostname(name); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opDomainname, Name: name})
	return err
}

// Mount mounts a fresh fstype ("tmpfs", "proc", "mqueue") at target inside
// the sandbox's mount namespace.
func (s *Sandbox) Mount(ctx context.Context, fstype, target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	_, err := s.call(ctx, request{Op: opMount, FSType: fstype, Path: target})
	return err
}

// Unmount unmounts target inside the sandbox.
func (s *Sandbox) Unmount(ctx context.Context, target string) error {
	_, err := s.call(ctx, request{Op: opUmount, Path: target})
	return err
}

// LinkUp brings a link inside the sandbox up ("lo").
func (s *Sandbox) LinkUp(ctx context.Context, name string) error {
	_, err := s.call(ctx, request{Op: opLinkUp, Name: name})
	return err
}

// Ping sends one ICMP echo from inside the sandbox.
func (s *Sandbox) Ping(ctx context.Context, addr string) (string, error) {
	r, err := s.call(ctx, request{Op: opPing, Addr: addr})
	return r.Text, err
}

// CreateIPC makes a System V message queue and shared memory segment and
// the POSIX message queue name inside the sandbox's IPC namespace.
func (s *Sandbox) CreateIPC(ctx context.Context, mqName string) (string, error) {
	r, err := s.call(ctx, request{Op: opIPC, Name: mqName})
	return r.Text, err
}

// Spawn starts n idle processes inside; it returns their PIDs as the
// sandbox sees them.
func (s *Sandbox) Spawn(ctx context.Context, n int) ([]int, error) {
	r, err := s.call(ctx, request{Op: opSpawn, N: n})
	return r.PIDs, err
}

// Orphan makes an orphan inside: a child that starts a grandchild and
// exits. It returns [child, grandchild] PIDs as the sandbox sees them.
func (s *Sandbox) Orphan(ctx context.Context) ([]int, error) {
	r, err := s.call(ctx, request{Op: opOrphan})
	return r.PIDs, err
}

// Observe takes a snapshot of what the sandbox sees: the agent observes on
// its own main thread, and the PID view is read from the host's /proc.
func (s *Sandbox) Observe(ctx context.Context, views []View) (Snapshot, error) {
	var agentViews []View
	wantPIDs := false
	for _, v := range views {
		if v == ViewPIDs {
			wantPIDs = true
			continue
		}
		agentViews = append(agentViews, v)
	}
	snap := Snapshot{}
	if len(agentViews) > 0 {
		r, err := s.call(ctx, request{Op: opObserve, Views: agentViews})
		if err != nil {
			return Snapshot{}, err
		}
		if r.Snapshot == nil {
			return Snapshot{}, fmt.Errorf("%w: observe reply without a snapshot", ErrAgent)
		}
		snap = *r.Snapshot
	}
	snap.Side, snap.PID, snap.Views = "sandbox", s.pid, views
	if snap.Taken.IsZero() {
		snap.Taken = time.Now()
	}
	if wantPIDs {
		// pid_for_children: after unshare(CLONE_NEWPID) the agent itself
		// stays outside, its children are the namespace. Until a first
		// child entered, the kernel shows no such link: the agent's own.
		path := fmt.Sprintf("/proc/%d/ns/pid_for_children", s.pid)
		if _, err := os.Stat(path); err != nil {
			path = fmt.Sprintf("/proc/%d/ns/pid", s.pid)
		}
		var err error
		snap.Procs, err = ObserveProcsAt(path)
		if err != nil {
			if snap.Errs == nil {
				snap.Errs = ViewErrs{}
			}
			snap.Errs[ViewPIDs] = err.Error()
		}
	}
	return snap, nil
}

// ObserveChild starts a short-lived child of the agent that reports what
// it sees: a child lands in the agent's pid_for_children and
// time_for_children namespaces, which unshare and setns change for them.
func (s *Sandbox) ObserveChild(ctx context.Context, views []View) (Snapshot, error) {
	r, err := s.call(ctx, request{Op: opChildObs, Views: views})
	if err != nil {
		return Snapshot{}, err
	}
	if r.Snapshot == nil {
		return Snapshot{}, fmt.Errorf("%w: child observation without a snapshot", ErrAgent)
	}
	return *r.Snapshot, nil
}

// SetTimeOffset writes a clock offset ("monotonic" or "boottime", whole
// seconds) for the time namespace the agent's next children will enter.
func (s *Sandbox) SetTimeOffset(ctx context.Context, clock string, secs int) error {
	_, err := s.call(ctx, request{Op: opTimeOffset, Name: clock, N: secs})
	return err
}

// Close kills the agent and everything in its process group, reaps it,
// deletes host-side links and waits (bounded) until they are gone. It is
// idempotent; a second call returns nil at once.
func (s *Sandbox) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	veths := s.veths
	s.mu.Unlock()
	defer s.eng.forget(s)

	var errs []error
	for _, name := range veths {
		if l, err := netlink.LinkByName(name); err == nil {
			if err := netlink.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
				errs = append(errs, fmt.Errorf("delete host link %s: %w", name, err))
			}
		}
	}
	if s.cmd != nil && s.cmd.Process != nil {
		// The agent runs in its own session: its process group holds it
		// and its idle children (when it is not PID 1 of a namespace,
		// whose death would take them all).
		_ = unix.Kill(-s.pid, unix.SIGKILL)
		_ = s.cmd.Process.Kill()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("%w: agent %d not reaped within 5s", ErrAgent, s.pid))
		}
	}
	if s.toAgent != nil {
		s.toAgent.Close()
	}
	// A network namespace is torn down asynchronously by the kernel after
	// its last process dies; a veth end on the host goes with it.
	deadline := time.Now().Add(3 * time.Second)
	for _, name := range veths {
		for time.Now().Before(deadline) {
			if _, err := netlink.LinkByName(name); err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if _, err := netlink.LinkByName(name); err == nil {
			errs = append(errs, fmt.Errorf("host link %s still present after close", name))
		}
	}
	return errors.Join(errs...)
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
