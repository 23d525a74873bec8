package shelltrace

import (
	"encoding/binary"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
)

// What a trapped call becomes at its exit.
const (
	whatEvent    = iota // an event
	whatSkip            // nothing (a clone3 without CLONE_NEW*, say)
	whatOpenMap         // a map file opened for writing: follow the thread
	whatRescan          // fds may have changed: does the thread still hold one?
	whatWriteMap        // a write to a map file: an event
)

// call is a trapped call between its entry and its exit.
type call struct {
	what     int
	ev       sandbox.Event
	path     string // whatOpenMap: the file
	kindProc string // /proc/PID/ns entry to read again at exit for After
}

// mapFiles are the files whose writes are traced, by base name, with the
// namespace kind each configures.
var mapFileKinds = map[string]string{
	"uid_map": "user", "gid_map": "user", "setgroups": "user", "timens_offsets": "time",
}

// decode reads a trapped call's arguments at its seccomp stop and renders
// them the way strace does.
func decode(tid int, nr uint64, a [6]uint64) *call {
	str := func(addr uint64) string {
		if addr == 0 {
			return "NULL"
		}
		s, ok := readString(tid, addr, 4096)
		if !ok {
			return fmt.Sprintf("%#x", addr)
		}
		return strconv.Quote(s)
	}
	c := &call{what: whatEvent}
	ev := &c.ev
	switch nr {
	case unix.SYS_CLONE:
		ev.Syscall = "clone"
		stack := "NULL"
		if a[1] != 0 {
			stack = fmt.Sprintf("%#x", a[1])
		}
		ev.Args = []string{"child_stack=" + stack, "flags=" + sandbox.TraceCloneFlags(uintptr(a[0]))}
		ev.Note = cloneNote(uintptr(a[0]))
	case unix.SYS_CLONE3:
		// struct clone_args: flags, pidfd, child_tid, parent_tid,
		// exit_signal, stack, stack_size, tls (u64 each).
		raw, err := readMem(tid, a[0], 64)
		if err != nil || len(raw) < 64 {
			return &call{what: whatSkip}
		}
		f := func(i int) uint64 { return binary.NativeEndian.Uint64(raw[8*i:]) }
		flags := f(0)
		if flags&uint64(sandbox.AllFlags()) == 0 {
			return &call{what: whatSkip}
		}
		ev.Syscall = "clone3"
		ev.Args = []string{clone3Args(flags, f), strconv.FormatUint(a[1], 10)}
		ev.Note = cloneNote(uintptr(flags))
	case unix.SYS_UNSHARE:
		ev.Syscall = "unshare"
		ev.Args = []string{sandbox.TraceFlags(uintptr(a[0]))}
		if ks := sandbox.KindsIn(uintptr(a[0])); len(ks) == 1 {
			c.kindProc = ks[0].ProcName
			if ks[0].ChildrenProcName != "" {
				c.kindProc = ks[0].ChildrenProcName
			}
			ev.Kind = ks[0].Name
			ev.Before = nsID(tid, c.kindProc)
		}
	case unix.SYS_SETNS:
		ev.Syscall = "setns"
		ev.Args = []string{strconv.FormatInt(int64(int32(a[0])), 10), sandbox.TraceFlags(uintptr(a[1]))}
		kind := ""
		if ks := sandbox.KindsIn(uintptr(a[1])); len(ks) == 1 {
			kind = ks[0].Name
		} else if link, err := readlinkFD(tid, int(int32(a[0]))); err == nil {
			// nstype 0: the fd says which kind ("uts:[4026532201]").
			kind, _, _ = strings.Cut(link, ":")
		}
		if k, err := sandbox.KindByName(kind); err == nil {
			c.kindProc = k.ProcName
			if k.ChildrenProcName != "" {
				c.kindProc = k.ChildrenProcName
			}
			ev.Kind = k.Name
			ev.Before = nsID(tid, c.kindProc)
		}
	case unix.SYS_MOUNT:
		ev.Syscall = "mount"
		ev.Args = []string{str(a[0]), str(a[1]), str(a[2]), sandbox.TraceMountFlags(uintptr(a[3])), str(a[4])}
	case unix.SYS_UMOUNT2:
		ev.Syscall = "umount2"
		ev.Args = []string{str(a[0]), sandbox.TraceUmountFlags(uintptr(a[1]))}
	case unix.SYS_PIVOT_ROOT:
		ev.Syscall = "pivot_root"
		ev.Args = []string{str(a[0]), str(a[1])}
	case unix.SYS_SETHOSTNAME, unix.SYS_SETDOMAINNAME:
		ev.Syscall = "sethostname"
		if nr == unix.SYS_SETDOMAINNAME {
			ev.Syscall = "setdomainname"
			ev.Kind = "uts"
		}
		ev.Kind = "uts"
		n := int(a[1])
		name := fmt.Sprintf("%#x", a[0])
		if n >= 0 && n <= 4096 {
			if b, err := readMem(tid, a[0], max(n, 1)); err == nil || n == 0 {
				name = strconv.Quote(string(b[:min(n, len(b))]))
			}
		}
		ev.Args = []string{name, strconv.FormatUint(a[1], 10)}
	case unix.SYS_OPENAT, unix.SYS_OPENAT2:
		p, ok := readString(tid, a[1], 4096)
		if !ok {
			return &call{what: whatSkip}
		}
		if nr == unix.SYS_OPENAT2 {
			flags, ok := readU64(tid, a[2]) // struct open_how: flags first
			if !ok || flags&(unix.O_WRONLY|unix.O_RDWR) == 0 {
				return &call{what: whatSkip}
			}
		}
		return openMap(p)
	default:
		if c := archDecode(tid, nr, a); c != nil {
			return c
		}
		return &call{what: whatSkip}
	}
	return c
}

// openMap decides whether an open for writing is one of a map file. The
// name is only a first filter: at the exit the fd's inode is what counts.
func openMap(p string) *call {
	if _, ok := mapFileKinds[path.Base(p)]; !ok {
		return &call{what: whatSkip}
	}
	return &call{what: whatOpenMap, path: p}
}

// decodeWrite renders a write to a map file: the bytes, and which file.
func decodeWrite(tid int, nr uint64, a [6]uint64, file string) *call {
	c := &call{what: whatWriteMap}
	ev := &c.ev
	ev.Kind = mapFileKinds[path.Base(file)]
	ev.Note = fmt.Sprintf("fd %d is %s", int32(a[0]), file)
	const maxShown = 4096
	switch nr {
	case unix.SYS_WRITEV:
		ev.Syscall = "writev"
		var all []byte
		for i := uint64(0); i < min(a[2], 16); i++ {
			base, ok1 := readU64(tid, a[1]+16*i)
			n, ok2 := readU64(tid, a[1]+16*i+8)
			if !ok1 || !ok2 {
				break
			}
			if n > 0 {
				b, _ := readMem(tid, base, int(min(n, maxShown)))
				all = append(all, b...)
			}
		}
		ev.Args = []string{strconv.Itoa(int(int32(a[0]))), strconv.Quote(string(all)), strconv.FormatUint(a[2], 10)}
	default:
		ev.Syscall = "write"
		var b []byte
		if a[2] > 0 {
			b, _ = readMem(tid, a[1], int(min(a[2], maxShown)))
		}
		ev.Args = []string{strconv.Itoa(int(int32(a[0]))), strconv.Quote(string(b)), strconv.FormatUint(a[2], 10)}
		if nr == unix.SYS_PWRITE64 {
			ev.Syscall = "pwrite64"
			ev.Args = append(ev.Args, strconv.FormatInt(int64(a[3]), 10))
		}
	}
	return c
}

func readlinkFD(tid, fd int) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Readlink(fmt.Sprintf("/proc/%d/fd/%d", tid, fd), buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// clone3Args renders struct clone_args as strace does: the pointers a
// flag asks for, then exit_signal, stack and stack_size, then tls.
func clone3Args(flags uint64, f func(int) uint64) string {
	ptr := func(v uint64) string {
		if v == 0 {
			return "NULL"
		}
		return fmt.Sprintf("%#x", v)
	}
	hex := func(v uint64) string {
		if v == 0 {
			return "0"
		}
		return fmt.Sprintf("%#x", v)
	}
	parts := []string{"flags=" + sandbox.TraceFlags(uintptr(flags))}
	if flags&unix.CLONE_PIDFD != 0 {
		parts = append(parts, "pidfd="+ptr(f(1)))
	}
	if flags&(unix.CLONE_CHILD_SETTID|unix.CLONE_CHILD_CLEARTID) != 0 {
		parts = append(parts, "child_tid="+ptr(f(2)))
	}
	if flags&unix.CLONE_PARENT_SETTID != 0 {
		parts = append(parts, "parent_tid="+ptr(f(3)))
	}
	sig := strconv.FormatUint(f(4), 10)
	if f(4) == uint64(unix.SIGCHLD) {
		sig = "SIGCHLD"
	}
	parts = append(parts, "exit_signal="+sig, "stack="+ptr(f(5)), "stack_size="+hex(f(6)))
	if flags&unix.CLONE_SETTLS != 0 {
		parts = append(parts, "tls="+ptr(f(7)))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func cloneNote(flags uintptr) string {
	var names []string
	for _, k := range sandbox.KindsIn(flags) {
		names = append(names, k.Name)
	}
	return "the child starts in new " + strings.Join(names, ", ") + " namespaces"
}

// identify fills in who made the call: host pid and tid, the pid and tid
// inside the caller's PID namespace (the last NSpid), and its command.
func identify(ev *sandbox.Event, tid int) {
	ev.TID = tid
	ev.PID = tid
	st, err := procfs.Proc{PID: tid}.NewStatus()
	if err != nil {
		p, perr := procfs.NewProc(tid)
		if perr != nil {
			return
		}
		if st, err = p.NewStatus(); err != nil {
			return
		}
	}
	ev.PID = st.TGID
	ev.Comm = st.Name
	if n := len(st.NSpids); n > 1 {
		ev.NSTID = int(st.NSpids[n-1])
		if st.TGID == tid {
			ev.NSPID = ev.NSTID
		} else if lst, err := procStatus(st.TGID); err == nil && len(lst.NSpids) > 1 {
			ev.NSPID = int(lst.NSpids[len(lst.NSpids)-1])
		}
	}
}

func procStatus(pid int) (procfs.ProcStatus, error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return procfs.ProcStatus{}, err
	}
	return p.NewStatus()
}
