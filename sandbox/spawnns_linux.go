package sandbox

// An idle child of the agent in namespaces of its own, for the setns
// lesson: a namespace that only that child holds, owned by the agent's
// user namespace, which the learner's shell may then join by its
// /proc/PID/ns path. And the one observation of such a namespace the
// engine cannot make from the host: its hostname.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

const opSpawnNS = "spawnns"

// spawnNSKinds are the kinds SpawnNS accepts: those a child enters at
// clone without id maps or a PID 1 of its own to look after.
const spawnNSKinds = CloneNewUTS | CloneNewIPC | CloneNewNet

// SpawnNS starts an idle child of the agent, cloned with flags (CLONE_NEWUTS,
// CLONE_NEWIPC, CLONE_NEWNET), and returns its PID as the sandbox sees it.
// It is the only member of its new namespaces and lives until the sandbox
// closes.
func (s *Sandbox) SpawnNS(ctx context.Context, flags uintptr) (int, error) {
	r, err := s.call(ctx, request{Op: opSpawnNS, Flags: uint64(flags)})
	if err != nil {
		return 0, err
	}
	if len(r.PIDs) != 1 {
		return 0, fmt.Errorf("%w: spawnns replied %v", ErrAgent, r.PIDs)
	}
	return r.PIDs[0], nil
}

func (a *agent) spawnNS(flags uintptr) ([]int, error) {
	if flags == 0 || flags&^spawnNSKinds != 0 {
		return nil, fmt.Errorf("%w: spawnns takes CLONE_NEWUTS, CLONE_NEWIPC or CLONE_NEWNET, not %s", ErrBadInput, FlagString(flags))
	}
	kind := ""
	if ks := KindsIn(flags); len(ks) == 1 {
		kind = ks[0].ProcName
	}
	return a.spawnIdleIn(flags, kind, "an idle child alone in new namespaces, owned by this user namespace")
}

// spawnIdleIn starts an idle child cloned with flags, traces the clone
// under kind with note, and returns the child's PID.
func (a *agent) spawnIdleIn(flags uintptr, kind, note string) ([]int, error) {
	attr := &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	cmd := exec.Command("/proc/self/exe", hiddenIdle)
	cmd.Env = append(os.Environ(), envParent+"="+strconv.Itoa(os.Getpid()))
	cmd.SysProcAttr = attr
	err := cmd.Start()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	call, cf := issuedClone(attr)
	a.record(call, cloneArgs(call, cf), int64(pid), err, kind, NSID{}, NSID{}, note)
	if err != nil {
		return nil, syscallErr("start a child in new namespaces", err)
	}
	return []int{pid}, nil
}

// HostnameOf returns the hostname of host process pid's UTS namespace, as
// uname(2) returns it there. No file shows another namespace's hostname,
// so a locked thread joins the namespace with setns(2), reads it and
// joins its own UTS namespace again before it is unlocked. Should that
// return fail, the thread stays locked and Go ends it with the goroutine;
// Go starts new threads from a template thread meanwhile, so none
// inherits the namespace. It needs CAP_SYS_ADMIN over the namespace.
func HostnameOf(pid int) (string, error) {
	type result struct {
		name string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		name, back, err := hostnameOn(pid)
		if back {
			runtime.UnlockOSThread()
		}
		done <- result{name, err}
	}()
	r := <-done
	return r.name, r.err
}

// hostnameOn does HostnameOf's work on the calling, locked thread; back
// reports that the thread is in its own UTS namespace again.
func hostnameOn(pid int) (name string, back bool, err error) {
	own, err := unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", true, fmt.Errorf("open this thread's uts namespace: %w", err)
	}
	defer unix.Close(own)
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/uts", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", true, fmt.Errorf("open the uts namespace of %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWUTS); err != nil {
		return "", true, syscallErr(fmt.Sprintf("join the uts namespace of %d", pid), err)
	}
	var u unix.Utsname
	uerr := unix.Uname(&u)
	if err := unix.Setns(own, unix.CLONE_NEWUTS); err != nil {
		return "", false, syscallErr("return to this thread's uts namespace", err)
	}
	if uerr != nil {
		return "", true, fmt.Errorf("uname in the uts namespace of %d: %w", pid, uerr)
	}
	return unix.ByteSliceToString(u.Nodename[:]), true, nil
}
