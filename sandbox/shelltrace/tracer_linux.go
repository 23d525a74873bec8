package shelltrace

import (
	"bytes"
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

// ptrace options for every tracee. No TRACEEXEC: a seized tracee gets no
// stop at exec without it, which saves a stop per command.
const ptraceOptions = unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_TRACEFORK |
	unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_EXITKILL |
	unix.PTRACE_O_TRACESYSGOOD

// Tracer follows one traced shell's process tree.
type Tracer struct {
	onEvent func(sandbox.Event)
	done    chan struct{}
	err     error
	seq     int
	threads map[int]*thread
	// mapFiles are the (dev, ino) of map files opened for writing, to know
	// a write to one through any fd.
	mapFiles map[[2]uint64]string
}

// thread is what the tracer remembers of one tracee thread.
type thread struct {
	pending *call // a traced call whose exit is awaited
	follow  bool  // stopping at every syscall: it holds a map file open
}

// Start starts cmd, which must come from (*sandbox.Sandbox).ShellCommand
// and not be started yet, with its whole process tree traced. onEvent
// receives every event, from the tracer's own goroutine, in order; it must
// not block for long (the traced process waits meanwhile).
//
// On success the shell runs traced. If the error wraps ErrUnavailable the
// shell runs too, untraced, and the error's text says why in one line;
// the Tracer is nil then. Any other error means cmd was not started.
// The caller waits for cmd as usual; Done is closed when the last traced
// process is gone.
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
		mapFiles: map[[2]uint64]string{}}
	ready := make(chan error, 1)
	onCleanThread(func() { t.run(ours.(*net.UnixConn), filter, ready) })
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

// onCleanThread runs f in a new goroutine locked to an OS thread that is
// not the main thread and has no children of its own. wait4 with
// __WNOTHREAD from that thread then sees only its tracees: a thread that
// once forked (exec.Cmd runs on whatever thread its goroutine is on) would
// also reap that child, and the main thread inherits the children of
// threads that exit. f never unlocks: ptrace ties the tracees to this
// thread, and EXITKILL kills them should it end early.
func onCleanThread(f func()) {
	var held []chan struct{}
	defer func() {
		for _, h := range held {
			close(h)
		}
	}()
	for try := 0; ; try++ {
		ok := make(chan bool)
		hold := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			if cleanThread() || try == 15 {
				ok <- true
				f()
				return
			}
			ok <- false
			// Keep this thread busy, so that the next try gets another.
			<-hold
			runtime.UnlockOSThread()
		}()
		if <-ok {
			return
		}
		held = append(held, hold)
	}
}

func cleanThread() bool {
	tid := unix.Gettid()
	if tid == unix.Getpid() {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/children", tid))
	return err == nil && len(bytes.TrimSpace(b)) == 0
}

// run is the tracer thread: the handshake, then the wait loop.
func (t *Tracer) run(conn *net.UnixConn, filter []unix.SockFilter, ready chan<- error) {
	defer close(t.done)
	pid, err := t.handshake(conn, filter)
	conn.Close()
	if err != nil {
		ready <- err
		return
	}
	ready <- nil
	t.threads[pid] = &thread{}
	t.err = t.loop()
}

func (t *Tracer) handshake(conn *net.UnixConn, filter []unix.SockFilter) (int, error) {
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	buf := make([]byte, 128)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil || n < 1 || buf[0] != 'r' {
		return 0, fmt.Errorf("%w: the shell did not start (handshake: %v)", ErrUnavailable, err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		return 0, fmt.Errorf("%w: no credentials from the shell: %v", ErrUnavailable, err)
	}
	cred, err := unix.ParseUnixCredentials(&msgs[0])
	if err != nil {
		return 0, fmt.Errorf("%w: no credentials from the shell: %w", ErrUnavailable, err)
	}
	pid := int(cred.Pid)
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, ptraceOptions, 0, 0); e != 0 {
		_, _ = conn.Write([]byte{'n'})
		return 0, fmt.Errorf("%w: ptrace refused (%s): run nslab outside any debugger or strace, as the user who made the sandbox, with ptrace allowed (sysctl kernel.yama.ptrace_scope below 2)", ErrUnavailable, unix.ErrnoName(e))
	}
	if _, err := conn.Write(filterBytes(filter)); err != nil {
		return 0, fmt.Errorf("%w: the shell went away during the handshake: %w", ErrUnavailable, err)
	}
	n, err = conn.Read(buf)
	if err != nil || n < 1 || (buf[0] != 'o' && buf[0] != 'e') {
		// The shell's process died or hung: EXITKILL or its own exit ends it.
		return 0, fmt.Errorf("%w: the shell went away during the handshake: %v", ErrUnavailable, err)
	}
	if buf[0] == 'e' {
		reason := string(buf[1:n])
		t.detach(pid)
		_, _ = conn.Write([]byte{'k'})
		return 0, fmt.Errorf("%w: the kernel refused the seccomp filter (%s)", ErrUnavailable, reason)
	}
	if _, err := conn.Write([]byte{'k'}); err != nil {
		return 0, fmt.Errorf("%w: the shell went away during the handshake: %w", ErrUnavailable, err)
	}
	return pid, nil
}

// detach lets go of the single-threaded entering process, which is
// blocked reading the final handshake byte.
func (t *Tracer) detach(pid int) {
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_INTERRUPT, uintptr(pid), 0, 0, 0, 0); e != 0 {
		return
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, unix.WALL|unix.WNOTHREAD, nil)
		if err == unix.EINTR {
			continue
		}
		break
	}
	_ = unix.PtraceDetach(pid)
}

// loop waits for every stop of every tracee until none is left.
func (t *Tracer) loop() error {
	for {
		var ws unix.WaitStatus
		// __WNOTHREAD: only this thread's tracees, never the engine's own
		// children, whose exit statuses belong to their exec.Cmd.
		tid, err := unix.Wait4(-1, &ws, unix.WALL|unix.WNOTHREAD, nil)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECHILD {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wait4: %w", err)
		}
		if ws.Exited() || ws.Signaled() {
			delete(t.threads, tid)
			continue
		}
		if !ws.Stopped() {
			continue
		}
		th := t.threads[tid]
		if th == nil {
			// A new child can report before its parent's fork event.
			th = &thread{}
			t.threads[tid] = th
		}
		sig := ws.StopSignal()
		// The ptrace event is status>>16. (WaitStatus.TrapCause reports
		// it only with SIGTRAP, but a group-stop's event comes with the
		// stop signal.)
		event := int(ws>>16) & 0xff
		inject := 0
		switch {
		case sig == unix.SIGTRAP|0x80:
			t.syscallStop(tid, th)
		case sig == unix.SIGTRAP && event == unix.PTRACE_EVENT_SECCOMP:
			t.seccompStop(tid, th)
		case sig == unix.SIGTRAP && (event == unix.PTRACE_EVENT_FORK ||
			event == unix.PTRACE_EVENT_VFORK || event == unix.PTRACE_EVENT_CLONE):
			if msg, err := unix.PtraceGetEventMsg(tid); err == nil {
				child := t.threads[int(msg)]
				if child == nil {
					child = &thread{}
					t.threads[int(msg)] = child
				}
				// The child shares or copies the fds: follow it too.
				child.follow = child.follow || th.follow
			}
		case event == unix.PTRACE_EVENT_STOP:
			if sig != unix.SIGTRAP {
				// Group-stop (^Z, SIGSTOP): stay stopped, as job control
				// expects, yet report the SIGCONT that ends it.
				_, _, _ = unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
				continue
			}
		case sig == unix.SIGTRAP && event != 0:
			// Another ptrace event: nothing to deliver.
		default:
			inject = int(sig) // signal-delivery-stop: pass the signal on
		}
		t.resume(tid, th, inject)
	}
}

func (t *Tracer) resume(tid int, th *thread, sig int) {
	if th.pending != nil || th.follow {
		_ = unix.PtraceSyscall(tid, sig)
		return
	}
	_ = unix.PtraceCont(tid, sig)
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

// seccompStop: the filter trapped a call. Decode its arguments now, while
// its memory holds them, and resume to its exit for the return value.
func (t *Tracer) seccompStop(tid int, th *thread) {
	si, err := getSyscallInfo(tid)
	if err != nil || si.Op != unix.PTRACE_SYSCALL_INFO_SECCOMP {
		return
	}
	c := decode(tid, si.nr(), si.args())
	if c.what == whatSkip {
		return // no need to see its exit
	}
	th.pending = c
}

// syscallStop: entry or exit of a call, for a thread awaiting a traced
// call's return or following a map file.
func (t *Tracer) syscallStop(tid int, th *thread) {
	si, err := getSyscallInfo(tid)
	if err != nil {
		return
	}
	switch si.Op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY:
		if th.follow && th.pending == nil {
			th.pending = t.decodeFollowed(tid, si.nr(), si.args())
		}
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		c := th.pending
		th.pending = nil
		if c == nil {
			return
		}
		rv, isErr := si.rval()
		t.finish(tid, th, c, rv, isErr)
	}
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
