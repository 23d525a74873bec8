package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

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
// CLONE_VM|CLONE_VFORK unless a user namespace is created (Go's rule: such
// a child may wait for its ID maps), and CLONE_PIDFD because os keeps a
// pidfd for every child on kernels that have it. The clone happens inside
// os/exec, so its flags are derived here rather than seen at the call;
// TestCloneFlagsTraceMatchesStrace holds them to strace's record.
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

// cloneArgs renders the clone the way strace does. parent_tid and pidfd
// are where the kernel writes the child's pidfd: pointers nslab cannot see
// inside os/exec, shown by what they point at.
func cloneArgs(call string, flags uintptr) []string {
	if call == "clone3" {
		return []string{"{flags=" + cloneFlagsArg(flags, false) + ", pidfd=" + ptrArg("pidfd") + ", exit_signal=SIGCHLD, stack=NULL, stack_size=0}", "88"}
	}
	return []string{"child_stack=NULL", "flags=" + cloneFlagsArg(flags, true), "parent_tid=" + ptrArg("pidfd")}
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

// idMaps writes a user namespace's uid_map, setgroups and gid_map from the
// engine, and traces each openat and write as made.
type idMaps struct {
	uid, gid int
	count    int // ids mapped from 0 (and from uid, gid): 1 unless a learner's range
	// allowSetgroups leaves /proc/PID/setgroups as it is; only a
	// privileged writer may write gid_map without denying it.
	allowSetgroups bool
	caps           []uintptr // the ambient capabilities the child raises
	r, w           *os.File  // the agent waits on r until w is written
}

func newIDMaps(rootToNobody bool) (*idMaps, error) {
	m := &idMaps{uid: os.Geteuid(), gid: os.Getegid(), count: 1}
	if rootToNobody {
		m.uid, m.gid = nobodyID, nobodyID
	}
	// Every capability this kernel knows: a new user namespace starts with a
	// full bounding set, whatever nslab's own lacks.
	for c := 0; c < 64; c++ {
		if _, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0); err != nil {
			break // EINVAL past the kernel's last capability
		}
		m.caps = append(m.caps, uintptr(c))
	}
	var err error
	if m.r, m.w, err = os.Pipe(); err != nil {
		return nil, fmt.Errorf("agent pipe: %w", err)
	}
	return m, nil
}

// close releases the engine's ends of the pipe; nil-safe.
func (m *idMaps) close() {
	if m != nil {
		m.r.Close()
		m.w.Close()
	}
}

// write writes the maps for pid, then tells the agent they are there. An
// unprivileged writer must deny setgroups before writing gid_map.
func (m *idMaps) write(pid int) ([]Event, error) {
	var evs []Event
	files := []struct{ name, line, note string }{
		{"uid_map", fmt.Sprintf("0 %d %d\n", m.uid, m.count), "uid 0 inside is uid " + strconv.Itoa(m.uid) + " outside"},
		{"setgroups", "deny\n", "an unprivileged writer must deny setgroups(2) before it may write gid_map"},
		{"gid_map", fmt.Sprintf("0 %d %d\n", m.gid, m.count), "gid 0 inside is gid " + strconv.Itoa(m.gid) + " outside"},
	}
	if m.count > 1 {
		files[0].note = fmt.Sprintf("uids 0-%d inside are %d-%d outside: this learner's own range", m.count-1, m.uid, m.uid+m.count-1)
		files[2].note = fmt.Sprintf("gids 0-%d inside are %d-%d outside", m.count-1, m.gid, m.gid+m.count-1)
	}
	for _, f := range files {
		if f.name == "setgroups" && m.allowSetgroups {
			continue
		}
		path := fmt.Sprintf("/proc/%d/%s", pid, f.name)
		const oflags = unix.O_WRONLY | unix.O_CLOEXEC
		fd, err := unix.Open(path, oflags, 0)
		evs = append(evs, newEvent("openat", []string{"AT_FDCWD", strArg(path), openFlagsArg(oflags)}, int64(fd), err))
		if err != nil {
			return evs, syscallErr("open "+path, err)
		}
		n, err := unix.Write(fd, []byte(f.line))
		unix.Close(fd)
		ev := newEvent("write", []string{strconv.Itoa(fd), strArg(f.line), strconv.Itoa(len(f.line))}, int64(n), err)
		ev.Note = f.note
		evs = append(evs, ev)
		if err != nil {
			return evs, syscallErr("write "+path, err)
		}
	}
	if _, err := m.w.Write([]byte{1}); err != nil {
		return evs, fmt.Errorf("tell the agent its id maps are written: %w", err)
	}
	return evs, nil
}

// closeAll closes files on an early return.
func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}
