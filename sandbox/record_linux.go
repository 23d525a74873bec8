package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Trace arguments are rendered from the very values passed to the kernel,
// the way strace prints them: flag bits by name in strace's table order
// (ascending bits, but CLONE_NEWTIME last), unknown bits in hex, strings
// quoted. The strace cross-check (TestTraceMatchesStrace) compares them
// literally after the one normalisation written down in trace_normalise.go.

var mountBits = []bitName{
	{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"}, {unix.MS_NODEV, "MS_NODEV"},
	{unix.MS_NOEXEC, "MS_NOEXEC"}, {unix.MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {unix.MS_REMOUNT, "MS_REMOUNT"},
	{unix.MS_MANDLOCK, "MS_MANDLOCK"}, {unix.MS_DIRSYNC, "MS_DIRSYNC"}, {unix.MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
	{unix.MS_NOATIME, "MS_NOATIME"}, {unix.MS_NODIRATIME, "MS_NODIRATIME"}, {unix.MS_BIND, "MS_BIND"},
	{unix.MS_MOVE, "MS_MOVE"}, {unix.MS_REC, "MS_REC"}, {unix.MS_SILENT, "MS_SILENT"},
	{unix.MS_POSIXACL, "MS_POSIXACL"}, {unix.MS_UNBINDABLE, "MS_UNBINDABLE"}, {unix.MS_PRIVATE, "MS_PRIVATE"},
	{unix.MS_SLAVE, "MS_SLAVE"}, {unix.MS_SHARED, "MS_SHARED"}, {unix.MS_RELATIME, "MS_RELATIME"},
	{unix.MS_KERNMOUNT, "MS_KERNMOUNT"}, {unix.MS_I_VERSION, "MS_I_VERSION"},
	{unix.MS_STRICTATIME, "MS_STRICTATIME"}, {unix.MS_LAZYTIME, "MS_LAZYTIME"},
}

var umountBits = []bitName{
	{unix.MNT_FORCE, "MNT_FORCE"}, {unix.MNT_DETACH, "MNT_DETACH"}, {unix.MNT_EXPIRE, "MNT_EXPIRE"},
	{unix.UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"},
}

// openBits are the open(2) flags above the access mode that nslab passes.
var openBits = []bitName{
	{unix.O_CREAT, "O_CREAT"}, {unix.O_EXCL, "O_EXCL"}, {unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"}, {unix.O_APPEND, "O_APPEND"}, {unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"}, {unix.O_CLOEXEC, "O_CLOEXEC"},
	// strace names O_DIRECTORY after O_CLOEXEC (its table's order, not the
	// bits'): openat(…, O_RDONLY|O_CLOEXEC|O_DIRECTORY).
	{unix.O_DIRECTORY, "O_DIRECTORY"},
}

// cloneFlagsArg renders clone/unshare/setns flags as passed. withSignal:
// the low byte of clone(2)'s flags is the exit signal.
func cloneFlagsArg(flags uintptr, withSignal bool) string {
	var sig []string
	if withSignal && flags&0xff != 0 {
		s := flags & 0xff
		flags &^= 0xff
		if s == uintptr(unix.SIGCHLD) {
			sig = []string{"SIGCHLD"}
		} else {
			sig = []string{fmt.Sprint(s)}
		}
	}
	out := bitsString(flags&^uintptr(unix.CLONE_NEWTIME), cloneBits, nil)
	if !withSignal && flags&unix.CLONE_NEWTIME != 0 {
		// strace names CLONE_NEWTIME (0x80) last: its table gained the
		// flag after the others.
		if out == "0" {
			out = "CLONE_NEWTIME"
		} else {
			out += "|CLONE_NEWTIME"
		}
	}
	if len(sig) > 0 {
		if out == "0" {
			return sig[0]
		}
		return out + "|" + sig[0]
	}
	return out
}

// mountFlagsArg renders mount(2)'s flags as passed; the pre-2.4 magic
// value in the high half, which the kernel still strips, as MS_MGC_VAL.
func mountFlagsArg(flags uintptr) string {
	var magic []string
	if flags&unix.MS_MGC_MSK == unix.MS_MGC_VAL {
		magic = []string{"MS_MGC_VAL"}
		flags &^= unix.MS_MGC_MSK
	}
	return bitsString(flags, mountBits, magic)
}

// TraceFlags, TraceCloneFlags, TraceMountFlags and TraceUmountFlags render
// the flags of unshare/setns/clone3, clone(2), mount(2) and umount2(2) the
// way nslab's own trace events do, for tracers of other processes
// (shelltrace) to print the same text.
func TraceFlags(flags uintptr) string { return cloneFlagsArg(flags, false) }

// TraceCloneFlags: see TraceFlags; the low byte is clone(2)'s exit signal.
func TraceCloneFlags(flags uintptr) string { return cloneFlagsArg(flags, true) }

// TraceMountFlags: see TraceFlags.
func TraceMountFlags(flags uintptr) string { return mountFlagsArg(flags) }

// TraceUmountFlags: see TraceFlags.
func TraceUmountFlags(flags uintptr) string { return bitsString(flags, umountBits, nil) }

// openFlagsArg renders open(2)/mq_open(3) flags as passed: the access mode,
// then the other bits.
func openFlagsArg(flags int) string {
	mode := map[int]string{unix.O_RDONLY: "O_RDONLY", unix.O_WRONLY: "O_WRONLY", unix.O_RDWR: "O_RDWR"}[flags&unix.O_ACCMODE]
	s := bitsString(uintptr(flags&^unix.O_ACCMODE), openBits, []string{mode})
	return s
}

// ipcFlagsArg renders shmget/msgget flags: IPC_* bits and the octal mode.
func ipcFlagsArg(flags int) string {
	var parts []string
	if flags&unix.IPC_CREAT != 0 {
		parts = append(parts, "IPC_CREAT")
	}
	if flags&unix.IPC_EXCL != 0 {
		parts = append(parts, "IPC_EXCL")
	}
	parts = append(parts, fmt.Sprintf("%#o", flags&0o777))
	return strings.Join(parts, "|")
}

// strArg renders a string argument as passed (Go quoting; strace's C
// quoting of the same bytes is the one normalisation the cross-check does).
func strArg(s string) string { return strconv.Quote(s) }

// ptrArg renders a pointer nslab passed, by what it points at: strace
// prints only the address for arguments the kernel ignores (mount's fstype
// with MS_PRIVATE) and for results it writes back.
func ptrArg(what string) string { return "&" + what }

// newEvent builds an event for a call the calling thread just made. ret is
// the raw return value; err the errno it came with (ret is then -1).
func newEvent(syscall string, args []string, ret int64, err error) Event {
	e := Event{Time: time.Now(), Syscall: syscall, Args: args, Ret: ret,
		PID: os.Getpid(), TID: unix.Gettid()}
	if err != nil {
		e.Ret = -1
		e.Errno = errnoName(err)
		if e.Errno == "" {
			e.Errno = err.Error()
		}
	}
	return e
}

// TraceSyscalls lists every syscall a trace event can name: what strace
// must watch to confirm a trace (TestTraceMatchesStrace).
func TraceSyscalls() []string {
	return []string{"clone", "clone3", "unshare", "setns", "openat", "write", "mount", "umount2", "pivot_root", "prctl",
		"ioctl", "sethostname", "setdomainname", "socket", "sendto", "shmget", "msgget", "mq_open", "mkdirat"}
}
