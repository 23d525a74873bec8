package shelltrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
)

// ErrUnavailable is wrapped by Start's error when the shell runs but
// cannot be traced on this machine. Its text is one line a pane can show.
var ErrUnavailable = errors.New("your commands are not traced")

// handshakeTimeout bounds the wait for the entering process; it must only
// join namespaces and fork first.
const handshakeTimeout = 10 * time.Second

// ptraceOptions for a thread attached on demand: syscall stops are told
// apart from signal stops.
const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD

// Tracer follows one traced shell's process tree.
type Tracer struct {
	onEvent func(sandbox.Event)
	done    chan struct{}
	err     error
	seq     int
	notify  int // the seccomp listener fd
	// threads are the threads attached right now: each made a traced call
	// whose exit is awaited, or holds a map file open.
	threads map[int]*thread
	// mapFiles are the (dev, ino) of map files opened for writing, to know
	// a write to one through any fd.
	mapFiles map[[2]uint64]string
}

// Thread states while attached.
const (
	stInterrupted = iota // PTRACE_INTERRUPT sent; the call will restart
	stRestarting         // at the restarted call's entry: the filter notifies again
	stRunning            // its call runs; the exit stop comes next
)

// thread is what the tracer remembers of one attached thread.
type thread struct {
	state   int
	want    uint64 // the number of the call being restarted
	pending *call  // a call whose exit is awaited
	follow  bool   // stopping at every syscall: it holds a map file open
}

// Start starts cmd, which must come from (*sandbox.Sandbox).ShellCommand
// and not be started yet, with its whole process tree traced. onEvent
// receives every event, from the tracer's own goroutine, in order; it must
// not block for long (the calling process waits meanwhile).
//
// On success the shell runs traced. If the error wraps ErrUnavailable the
// shell runs too, untraced, and the error's text says why in one line;
// the Tracer is nil then. Any other error means cmd was not started.
// The caller waits for cmd as usual; Done is closed when no process that
// carries the filter is left.
func Start(cmd *exec.Cmd, onEvent func(sandbox.Event)) (*Tracer, error) {
	if onEvent == nil {
		onEvent = func(sandbox.Event) {}
	}
	filter, ferr := buildFilter()
	if ferr != nil {
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start the shell: %w", err)
		}
		return nil, ferr
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair for the tracer: %w", err)
	}
	// SO_PASSCRED before the peer writes: the kernel then attaches the
	// sender's pid, as seen from here, to what it sends.
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("SO_PASSCRED: %w", err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "nslab-trace-peer")
	oursF := os.NewFile(uintptr(fds[0]), "nslab-trace")
	ours, err := net.FileConn(oursF)
	oursF.Close()
	if err != nil {
		theirs.Close()
		return nil, fmt.Errorf("tracer socket: %w", err)
	}
	sandbox.AskTrace(cmd, theirs)
	if err := cmd.Start(); err != nil {
		theirs.Close()
		ours.Close()
		return nil, fmt.Errorf("start the shell: %w", err)
	}
	theirs.Close()
	t := &Tracer{onEvent: onEvent, done: make(chan struct{}), threads: map[int]*thread{},
		mapFiles: map[[2]uint64]string{}, notify: -1}
	ready := make(chan error, 1)
	go t.run(ours.(*net.UnixConn), filter, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return t, nil
}

// Done is closed when no traced process is left.
func (t *Tracer) Done() <-chan struct{} { return t.done }

// Err is why tracing ended early, once Done is closed; nil after a normal
// end (the last traced process exited).
func (t *Tracer) Err() error {
	<-t.done
	return t.err
}

// run is the tracer thread: the handshake, then the loop. A tracer is a
// thread, not a process, so every ptrace call and wait is made from this
// one locked OS thread, which never unlocks.
func (t *Tracer) run(conn *net.UnixConn, filter []unix.SockFilter, ready chan<- error) {
	runtime.LockOSThread()
	defer close(t.done)
	err := t.handshake(conn, filter)
	conn.Close()
	if err != nil {
		ready <- err
		return
	}
	ready <- nil
	t.err = t.loop()
	for tid := range t.threads {
		_ = unix.PtraceDetach(tid)
	}
	unix.Close(t.notify)
}

func (t *Tracer) handshake(conn *net.UnixConn, filter []unix.SockFilter) error {
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	buf := make([]byte, 128)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil || n < 1 || buf[0] != 'r' {
		return fmt.Errorf("%w: the shell did not start (handshake: %v)", ErrUnavailable, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return fmt.Errorf("%w: no credentials from the shell: %v", ErrUnavailable, err)
	}
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	if err != nil {
		return fmt.Errorf("%w: no credentials from the shell: %w", ErrUnavailable, err)
	}
	pid := int(cred.Pid)
	// The tracer attaches to a thread only when it makes a traced call;
	// check now that it may, so that a refusal is said at once.
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, 0, 0, 0); e != 0 {
		_, _ = conn.Write([]byte{'n'})
		return fmt.Errorf("%w: ptrace refused (%s): run nslab outside any debugger or strace, as the user who made the sandbox, with ptrace allowed (sysctl kernel.yama.ptrace_scope below 2)", ErrUnavailable, unix.ErrnoName(e))
	}
	detach(pid)
	if _, err := conn.Write(filterBytes(filter)); err != nil {
		return fmt.Errorf("%w: the shell went away during the handshake: %w", ErrUnavailable, err)
	}
	// SO_PASSCRED adds credentials to this message too.
	oob = make([]byte, unix.CmsgSpace(4)+unix.CmsgSpace(unix.SizeofUcred))
	n, oobn, _, _, err = conn.ReadMsgUnix(buf, oob)
	if err != nil || n < 1 || (buf[0] != 'o' && buf[0] != 'e') {
		return fmt.Errorf("%w: the shell went away during the handshake: %v", ErrUnavailable, err)
	}
	if buf[0] == 'e' {
		_, _ = conn.Write([]byte{'k'})
		return fmt.Errorf("%w: the kernel refused the seccomp filter (%s)", ErrUnavailable, string(buf[1:n]))
	}
	msgs, err = unix.ParseSocketControlMessage(oob[:oobn])
	for i := range msgs {
		if msgs[i].Header.Type != unix.SCM_RIGHTS {
			continue
		}
		var fds []int
		if fds, err = unix.ParseUnixRights(&msgs[i]); err == nil && len(fds) == 1 {
			t.notify = fds[0]
		}
	}
	if t.notify < 0 {
		return fmt.Errorf("no seccomp listener from the shell: %v", err)
	}
	if _, err := conn.Write([]byte{'k'}); err != nil {
		unix.Close(t.notify)
		return fmt.Errorf("%w: the shell went away during the handshake: %w", ErrUnavailable, err)
	}
	return nil
}

// detach lets go of a seized thread that is not stopped: stop it, then
// detach at that stop.
func detach(tid int) {
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(tid), 0, 0, 0, 0); e != 0 {
		return
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(tid, &ws, unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		break
	}
	_ = unix.PtraceDetach(tid)
}

// seccomp_notif and seccomp_notif_resp (linux/seccomp.h).
type notif struct {
	ID    uint64
	PID   uint32
	Flags uint32
	NR    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type notifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// loop serves the listener and the attached threads until no process
// carries the filter any more. While no thread is attached it sleeps in
// poll; while some are, it looks at them every millisecond.
func (t *Tracer) loop() error {
	for {
		timeout := -1
		if len(t.threads) > 0 {
			timeout = 1
		}
		pfd := []unix.PollFd{{Fd: int32(t.notify), Events: unix.POLLIN}}
		_, err := unix.Poll(pfd, timeout)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("poll the seccomp listener: %w", err)
		}
		if pfd[0].Revents&unix.POLLIN != 0 {
			t.receive()
		} else if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 && len(t.threads) == 0 {
			return nil // the last process with the filter is gone
		}
		for tid, th := range t.threads {
			t.reap(tid, th)
		}
	}
}

// receive takes one notification: a traced call is waiting for an answer.
func (t *Tracer) receive() {
	var n notif
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(t.notify), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&n))); e != 0 {
		return // ENOENT: the caller was interrupted meanwhile
	}
	tid := int(n.PID)
	if tid == 0 {
		t.answer(n.ID) // from another PID namespace's view: cannot be ours to follow
		return
	}
	c := decode(tid, uint64(n.NR), n.Args)
	// The memory read above is of the right call only if it still waits.
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(t.notify), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&n.ID))); e != 0 {
		return
	}
	th := t.threads[tid]
	switch {
	case c.what == whatSkip:
		t.answer(n.ID)
	case th != nil:
		// Attached and stepping (restarted, or following): let the call
		// run; its exit stop comes to reap.
		th.pending = c
		th.state = stRunning
		t.answer(n.ID)
	default:
		// Attach to see this call's exit. The thread sleeps in the
		// notification; PTRACE_INTERRUPT wakes it, the kernel withdraws
		// the notification and restarts the call (ERESTARTSYS), and
		// resumed with PTRACE_SYSCALL it stops at the restarted call's
		// entry, then notifies again.
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, ptraceOptions, 0, 0); e != 0 {
			t.answer(n.ID)
			return
		}
		if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(tid), 0, 0, 0, 0); e != 0 {
			_ = unix.PtraceDetach(tid)
			t.answer(n.ID)
			return
		}
		t.threads[tid] = &thread{state: stInterrupted, want: uint64(n.NR)}
	}
}

// answer lets a waiting call run as the kernel would without the filter.
func (t *Tracer) answer(id uint64) {
	r := notifResp{ID: id, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(t.notify), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&r)))
}

// reap handles the stops of one attached thread, without blocking.
func (t *Tracer) reap(tid int, th *thread) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(tid, &ws, unix.WALL|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			delete(t.threads, tid) // gone
			return
		}
		if got == 0 {
			return
		}
		if ws.Exited() || ws.Signaled() {
			delete(t.threads, tid)
			return
		}
		if !ws.Stopped() {
			continue
		}
		sig := ws.StopSignal()
		// The ptrace event is status>>16. (WaitStatus.TrapCause reports
		// it only with SIGTRAP, but a group-stop's event comes with the
		// stop signal.)
		event := int(ws>>16) & 0xff
		inject := 0
		switch {
		case sig == unix.SIGTRAP|0x80:
			if !t.syscallStop(tid, th) {
				_ = unix.PtraceDetach(tid)
				delete(t.threads, tid)
				return
			}
		case event == unix.PTRACE_EVENT_STOP && sig != unix.SIGTRAP:
			// Group-stop (^Z, SIGSTOP): stay stopped, as job control
			// expects, yet report the SIGCONT that ends it.
			_, _, _ = unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
			continue
		case event != 0:
			// The interrupt's stop, or another ptrace event.
		default:
			inject = int(sig) // signal-delivery-stop: pass the signal on
		}
		_ = unix.PtraceSyscall(tid, inject)
	}
}

// syscallInfo is struct ptrace_syscall_info (linux/ptrace.h), which gives
// the stop's kind, number, arguments and return value on any architecture.
type syscallInfo struct {
	Op                 uint8
	_                  [3]uint8
	Arch               uint32
	InstructionPointer uint64
	StackPointer       uint64
	// For entry and seccomp: nr, args[6] (and ret_data). For exit:
	// rval (s64) and is_error (u8) overlay the first 9 bytes.
	Data [8 * 8]uint64
}

func getSyscallInfo(tid int) (syscallInfo, error) {
	var si syscallInfo
	_, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GET_SYSCALL_INFO, uintptr(tid),
		unsafe.Sizeof(si), uintptr(unsafe.Pointer(&si)), 0, 0)
	if e != 0 {
		return si, e
	}
	return si, nil
}

func (si *syscallInfo) nr() uint64          { return si.Data[0] }
func (si *syscallInfo) args() [6]uint64     { return [6]uint64(si.Data[1:7]) }
func (si *syscallInfo) rval() (int64, bool) { return int64(si.Data[0]), si.Data[1]&0xff != 0 }

// syscallStop handles a syscall-entry or -exit stop of an attached
// thread. It reports false when the thread should be let go.
func (t *Tracer) syscallStop(tid int, th *thread) bool {
	si, err := getSyscallInfo(tid)
	if err != nil {
		return false
	}
	switch si.Op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY:
		switch {
		case th.state == stInterrupted && si.nr() == th.want:
			th.state = stRestarting // the filter notifies next
		case th.state == stInterrupted:
			// Not restarted (a signal handler made it EINTR): the call
			// is over, unseen.
			th.state = stRunning
			return th.follow
		case th.follow && th.pending == nil:
			th.pending = t.decodeFollowed(tid, si.nr(), si.args())
		}
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		c := th.pending
		th.pending = nil
		if c != nil {
			rv, isErr := si.rval()
			t.finish(tid, th, c, rv, isErr)
		}
		if th.state == stRestarting {
			return true // the exit of the interrupted attempt, if reported
		}
		th.state = stRunning
		return th.follow
	}
	return true
}

// finish records a call at its exit.
func (t *Tracer) finish(tid int, th *thread, c *call, rv int64, isErr bool) {
	switch c.what {
	case whatSkip:
		return
	case whatOpenMap:
		if !isErr {
			if key, ok := fdKey(tid, int(rv)); ok {
				t.mapFiles[key] = c.path
				th.follow = true
			}
		}
		return
	case whatRescan:
		th.follow = t.holdsMapFile(tid)
		return
	}
	ev := c.ev
	ev.Ret = rv
	if isErr {
		ev.Ret = -1
		ev.Errno = unix.ErrnoName(unix.Errno(-rv))
		if ev.Errno == "" {
			ev.Errno = fmt.Sprintf("errno %d", -rv)
		}
	}
	if c.kindProc != "" {
		ev.After = nsID(tid, c.kindProc)
	}
	t.seq++
	ev.Seq = t.seq
	ev.Time = time.Now()
	ev.Learner = true
	identify(&ev, tid)
	t.onEvent(ev)
}

// decodeFollowed looks at a call's entry while a thread holds a map file:
// writes to it are events, and calls that can drop or duplicate fds make
// the tracer look again at the thread's fds after them.
func (t *Tracer) decodeFollowed(tid int, nr uint64, a [6]uint64) *call {
	switch nr {
	case unix.SYS_WRITE, unix.SYS_PWRITE64, unix.SYS_WRITEV:
		key, ok := fdKey(tid, int(a[0]))
		if !ok {
			return nil
		}
		path, ok := t.mapFiles[key]
		if !ok {
			return nil
		}
		return decodeWrite(tid, nr, a, path)
	case unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE, unix.SYS_DUP, unix.SYS_DUP3, unix.SYS_FCNTL,
		unix.SYS_EXECVE, unix.SYS_EXECVEAT:
		return &call{what: whatRescan}
	}
	if archRescan(nr) {
		return &call{what: whatRescan}
	}
	return nil
}

// holdsMapFile reports whether any fd of tid's process is a map file
// opened for writing.
func (t *Tracer) holdsMapFile(tid int) bool {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", tid))
	if err != nil {
		return false
	}
	for _, e := range ents {
		var fd int
		if _, err := fmt.Sscan(e.Name(), &fd); err != nil {
			continue
		}
		if key, ok := fdKey(tid, fd); ok {
			if _, ok := t.mapFiles[key]; ok {
				return true
			}
		}
	}
	return false
}

// fdKey is the (dev, ino) of the file behind a tracee's fd.
func fdKey(tid, fd int) ([2]uint64, bool) {
	var st unix.Stat_t
	if fd < 0 || unix.Stat(fmt.Sprintf("/proc/%d/fd/%d", tid, fd), &st) != nil {
		return [2]uint64{}, false
	}
	return [2]uint64{st.Dev, st.Ino}, true
}

// nsID is the identity of /proc/TID/ns/NAME.
func nsID(tid int, name string) sandbox.NSID {
	var st unix.Stat_t
	if unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", tid, name), &st) != nil {
		return sandbox.NSID{}
	}
	return sandbox.NSID{Dev: st.Dev, Ino: st.Ino}
}

// readMem reads n bytes of a tracee's memory.
func readMem(tid int, addr uint64, n int) ([]byte, error) {
	if addr == 0 {
		return nil, unix.EFAULT
	}
	b := make([]byte, n)
	got, err := unix.ProcessVMReadv(tid, []unix.Iovec{{Base: &b[0], Len: uint64(n)}},
		[]unix.RemoteIovec{{Base: uintptr(addr), Len: n}}, 0)
	if err != nil && got <= 0 {
		return nil, err
	}
	return b[:got], nil
}

// readString reads a NUL-terminated string of at most max bytes, page by
// page, since the next page may not be mapped.
func readString(tid int, addr uint64, max int) (string, bool) {
	var out []byte
	for len(out) < max {
		chunk := 4096 - int(addr%4096)
		if chunk > max-len(out) {
			chunk = max - len(out)
		}
		b, err := readMem(tid, addr, chunk)
		if err != nil || len(b) == 0 {
			return string(out), false
		}
		for i, c := range b {
			if c == 0 {
				return string(append(out, b[:i]...)), true
			}
		}
		out = append(out, b...)
		addr += uint64(len(b))
	}
	return string(out), true
}

func readU64(tid int, addr uint64) (uint64, bool) {
	b, err := readMem(tid, addr, 8)
	if err != nil || len(b) < 8 {
		return 0, false
	}
	return binary.NativeEndian.Uint64(b), true
}
