package sandbox

// A user namespace inside the sandbox's, for the nesting lesson. The agent
// (root of the sandbox's user namespace) starts a child with
// clone(CLONE_NEWUSER) and writes its id maps, as the engine does for the
// agent; the child becomes root there, with every capability, and then:
//
//   - tries sethostname(2) in the UTS namespace it shares with the agent.
//     That namespace belongs to the agent's user namespace, the parent of
//     the child's, so the kernel refuses (EPERM): capabilities count only
//     in namespaces one's own user namespace (or a descendant) owns. The
//     child calls it only when that UTS namespace is not the host's, so
//     even a kernel that said yes could rename nothing but the sandbox;
//   - starts an idle grandchild with clone(CLONE_NEWPID): a PID namespace
//     owned by the nested user namespace, one level below the sandbox's,
//     so the grandchild has three PIDs (host, sandbox, its own 1).
//
// The child reports both calls, recorded at the call, to the agent, and
// stays alive (the nested user namespace's member) until the sandbox
// closes; the grandchild dies with it (parent-death signal).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	opNested = "nested"
	// envNestedHostUTS carries the host's UTS identity to the nested
	// child, for its safety check before sethostname.
	envNestedHostUTS = "_NSLAB_NESTED_HOSTUTS"
)

// nestedReport is what the nested child tells the agent.
type nestedReport struct {
	PID    int     `json:"pid"` // the grandchild, as the sandbox numbers it
	Events []Event `json:"events"`
}

// Nested starts the nested user namespace's process and its grandchild in
// a nested PID namespace (see the top of nested_linux.go); the nested
// process tries to set the sandbox's hostname to name. It returns both
// PIDs as the sandbox numbers them. The sandbox needs its own UTS
// namespace and, with a PID namespace, its own /proc mounted first (the
// agent writes the child's id maps through /proc/PID).
func (s *Sandbox) Nested(ctx context.Context, name string) (nested, grandchild int, err error) {
	if err := ValidateHostname(name); err != nil {
		return 0, 0, err
	}
	r, err := s.call(ctx, request{Op: opNested, Name: name})
	if err != nil {
		return 0, 0, err
	}
	if len(r.PIDs) != 2 {
		return 0, 0, fmt.Errorf("%w: nested replied %v", ErrAgent, r.PIDs)
	}
	return r.PIDs[0], r.PIDs[1], nil
}

func (a *agent) nested(name string) ([]int, error) {
	if err := ValidateHostname(name); err != nil {
		return nil, err
	}
	if err := a.requireOwn("uts"); err != nil {
		return nil, err
	}
	if a.ids()["user"] == a.host["user"] {
		return nil, fmt.Errorf("%w: the nested user namespace is made inside the sandbox's own user namespace, and this sandbox has none", ErrBadInput)
	}
	// The maps are written through /proc/PID of the agent's /proc: it must
	// number processes as the agent does.
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		return nil, fmt.Errorf("%w: /proc here is not this PID namespace's: mount proc on /proc first", ErrBadInput)
	}
	maps, err := newIDMaps(false)
	if err != nil {
		return nil, err
	}
	defer maps.close()
	hostUTS, _ := json.Marshal(a.host["uts"])
	attr := &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER, Pdeathsig: syscall.SIGKILL, AmbientCaps: maps.caps}
	cmd := exec.Command("/proc/self/exe", hiddenNested, name)
	cmd.Env = append(os.Environ(), envAgentMaps+"=1", envNestedHostUTS+"="+string(hostUTS))
	// fd 5 is where agentBecomeRoot waits for the maps.
	cmd.ExtraFiles = []*os.File{nil, nil, maps.r}
	cmd.SysProcAttr = attr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("nested pipe: %w", err)
	}
	err = cmd.Start()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	call, flags := issuedClone(attr)
	a.record(call, cloneArgs(call, flags), int64(pid), err, "user", NSID{}, NSID{},
		"a child in a new user namespace, whose parent is the sandbox's: root of the sandbox owns it")
	if err != nil {
		return nil, syscallErr("start the nested user namespace's process", err)
	}
	evs, err := maps.write(pid)
	for _, e := range evs {
		a.add(e)
	}
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	var rep nestedReport
	done := make(chan error, 1)
	go func() { done <- json.NewDecoder(io.LimitReader(out, maxLine)).Decode(&rep) }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Second):
		err = fmt.Errorf("%w: no answer within 3s", ErrAgent)
	}
	if err != nil || rep.PID <= 0 {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("%w: the nested process: %v", ErrAgent, err)
	}
	for _, e := range rep.Events {
		a.add(e)
	}
	return []int{pid, rep.PID}, nil
}

// runNested is the nested user namespace's process (see the top of this
// file). It prints its report as one JSON line on stdout, then waits to be
// killed.
func runNested(args []string) int {
	if len(args) != 1 || ValidateHostname(args[0]) != nil {
		fmt.Fprintln(os.Stderr, "nslab nested: bad arguments")
		return 2
	}
	name := args[0]
	// Its parent, the agent, already dropped root's groups when confined.
	if err := agentBecomeRoot(false); err != nil {
		fmt.Fprintln(os.Stderr, "nslab nested:", err)
		return 1
	}
	var host NSID
	if err := json.Unmarshal([]byte(os.Getenv(envNestedHostUTS)), &host); err != nil || host.IsZero() {
		fmt.Fprintln(os.Stderr, "nslab nested: missing the host's UTS identity")
		return 2
	}
	os.Unsetenv(envNestedHostUTS)
	var evs []Event
	if cur, err := ReadIDs(0); err != nil || cur["uts"].IsZero() || cur["uts"] == host {
		fmt.Fprintln(os.Stderr, "nslab nested: refusing sethostname: this is the host's UTS namespace")
		return 1
	}
	err := unix.Sethostname([]byte(name))
	ev := newEvent("sethostname", []string{strArg(name), strconv.Itoa(len(name))}, 0, err)
	ev.Note = "uid 0 with every capability in the nested user namespace, but this UTS namespace belongs to its parent"
	evs = append(evs, ev)

	attr := &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID, Pdeathsig: syscall.SIGKILL}
	cmd := exec.Command("/proc/self/exe", hiddenIdle)
	cmd.Env = append(os.Environ(), envParent+"="+strconv.Itoa(os.Getpid()))
	cmd.SysProcAttr = attr
	err = cmd.Start()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	call, flags := issuedClone(attr)
	ev = newEvent(call, cloneArgs(call, flags), int64(pid), err)
	ev.Kind, ev.Note = "pid", "a PID namespace owned by the nested user namespace: its first process has three PIDs"
	evs = append(evs, ev)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nslab nested:", err)
		return 1
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	if err := json.NewEncoder(os.Stdout).Encode(nestedReport{PID: pid, Events: evs}); err != nil {
		return 1
	}
	<-ch
	return 0
}

// handleNesting runs the operations of the nesting lesson (this file and
// nsioctl_linux.go); ok is false for others.
func (a *agent) handleNesting(r request, rep *reply) (ok bool, err error) {
	switch r.Op {
	case opNested:
		rep.PIDs, err = a.nested(r.Name)
		return true, err
	case opNSIoctl:
		rep.Text, err = a.nsIoctl(r.PID, r.Kind, NSRequest(r.Flags))
		return true, err
	}
	return false, nil
}
