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
