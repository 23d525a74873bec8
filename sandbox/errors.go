package sandbox

import (
	"errors"
	"fmt"
)

// errnoInfo is what a learner is told about an errno a namespace call can
// return: the strerror text and what to do about it.
type errnoInfo struct {
	desc   string
	advice string
}

// errnoTable is what nslab tells a learner about each errno: a switch,
// not a map, so that no process (every agent is one) builds it at start.
func errnoTable(name string) errnoInfo {
	switch name {
	case "EPERM":
		return errnoInfo{"Operation not permitted", "this needs CAP_SYS_ADMIN (CAP_NET_ADMIN for network changes): run nslab with sudo, or use a lesson that works rootless through a user namespace"}
	case "EACCES":
		return errnoInfo{"Permission denied", "the caller may not open or join that namespace: run with sudo, or join only namespaces your user created"}
	case "EINVAL":
		return errnoInfo{"Invalid argument", "the kernel refused the arguments: a wrong nstype for setns, a flag this kernel does not know, or joining a user namespace from a multithreaded process"}
	case "ENOSPC":
		return errnoInfo{"No space left on device", "a namespace limit was reached: raise /proc/sys/user/max_<kind>_namespaces (sysctl user.max_<kind>_namespaces)"}
	case "EUSERS":
		return errnoInfo{"Too many users", "user namespaces are nested too deeply (32 levels at most)"}
	case "ENOMEM":
		return errnoInfo{"Cannot allocate memory", "the kernel could not allocate the namespace; also returned when a PID namespace's init has exited"}
	case "EBADF":
		return errnoInfo{"Bad file descriptor", "the file descriptor is not open: reopen /proc/PID/ns/KIND"}
	case "ESRCH":
		return errnoInfo{"No such process", "the process is gone: its namespace may have died with it"}
	case "ENOENT":
		return errnoInfo{"No such file or directory", "the path does not exist: check /proc/PID/ns/KIND and that the process still runs"}
	case "EBUSY":
		return errnoInfo{"Device or resource busy", "the mount point is in use: leave it (cd /) and try again"}
	case "EEXIST":
		return errnoInfo{"File exists", "that object exists already"}
	case "EAGAIN":
		return errnoInfo{"Resource temporarily unavailable", "try again"}
	case "ENOSYS":
		return errnoInfo{"Function not implemented", "this kernel lacks the syscall: a newer kernel is needed"}
	case "EOPNOTSUPP":
		return errnoInfo{"Operation not supported", "the kernel was built without this namespace kind"}
	case "ENAMETOOLONG":
		return errnoInfo{"File name too long", "a hostname is at most 64 bytes"}
	}
	return errnoInfo{}
}

// ErrnoDescription is strerror(3) for an errno name, "" if unknown.
func ErrnoDescription(name string) string { return errnoTable(name).desc }

// ErrnoAdvice says what a learner can do about an errno, "" if unknown.
func ErrnoAdvice(name string) string { return errnoTable(name).advice }

// ErrAgent is wrapped by every error that comes from an agent that died,
// timed out or spoke nonsense.
var ErrAgent = errors.New("sandbox agent failed")

// ErrClosed is returned by operations on a closed sandbox.
var ErrClosed = errors.New("sandbox is closed")

// ErrSameNamespace is returned when an action that changes namespace state
// (hostname, mounts, links) would act on the host's own namespace.
var ErrSameNamespace = errors.New("refusing: the sandbox shares this namespace with the host")

// ErrBadInput wraps a learner-typed value (hostname, path) that nslab
// refuses before it reaches a syscall.
var ErrBadInput = errors.New("invalid input")

// SyscallError is a failed syscall with its learner-facing advice. It wraps
// the errno, so errors.Is(err, unix.EPERM) works on it.
type SyscallError struct {
	Op    string // "unshare(CLONE_NEWUTS)"
	Errno string // "EPERM"
	Err   error  // the unix.Errno, or a rebuilt one from an agent reply
}

func (e *SyscallError) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Op, e.Errno)
	if d := ErrnoDescription(e.Errno); d != "" {
		msg += " (" + d + ")"
	}
	if a := ErrnoAdvice(e.Errno); a != "" {
		msg += ": " + a
	}
	return msg
}

func (e *SyscallError) Unwrap() error { return e.Err }
