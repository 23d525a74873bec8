package sandbox

import (
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

// spawn starts n idle children, so the PID view has something to show.
func (a *agent) spawn(n int) ([]int, error) {
	if n < 1 || n > 16 {
		return nil, fmt.Errorf("%w: spawn between 1 and 16 processes, not %d", ErrBadInput, n)
	}
	var pids []int
	for i := 0; i < n; i++ {
		cmd := exec.Command("/proc/self/exe", hiddenIdle)
		cmd.Env = append(os.Environ(), envParent+"="+strconv.Itoa(os.Getpid()))
		err := cmd.Start()
		pid := 0
		if cmd.Process != nil {
			pid = cmd.Process.Pid
		}
		a.recordClone(pid, err, "")
		if err != nil {
			return pids, syscallErr("start idle process", err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// orphan starts a child that starts a grandchild and exits. The grandchild
// is re-parented to the namespace's PID 1: the agent. The child reports
// its clone of the grandchild, then waits to exit until the engine has
// read its pid and tid from the host's /proc (orphanRelease).
func (a *agent) orphan() ([]int, error) {
	if os.Getpid() != 1 {
		return nil, fmt.Errorf("%w: the orphan demo needs the agent to be PID 1 of a new PID namespace", ErrBadInput)
	}
	if a.orphanHold != nil {
		return nil, fmt.Errorf("%w: an orphan maker is still waiting", ErrBadInput)
	}
	cmd := exec.Command("/proc/self/exe", hiddenOrphan)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("orphan pipe: %w", err)
	}
	hold, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("orphan pipe: %w", err)
	}
	err = cmd.Start()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	a.recordClone(pid, err, "the child that will leave an orphan behind")
	if err != nil {
		hold.Close()
		return nil, syscallErr("start orphan maker", err)
	}
	a.orphanHold = hold
	var rep orphanReport
	if err := json.NewDecoder(io.LimitReader(out, maxLine)).Decode(&rep); err != nil || rep.PID <= 0 {
		a.orphanRelease()
		return nil, fmt.Errorf("%w: orphan maker said nothing: %v", ErrAgent, err)
	}
	rep.Event.Note = "the child clones the grandchild, then exits: the grandchild is orphaned"
	a.add(rep.Event)
	return []int{pid, rep.PID}, nil
}

// orphanRelease lets the orphan maker exit.
func (a *agent) orphanRelease() {
	if a.orphanHold != nil {
		a.orphanHold.Close()
		a.orphanHold = nil
	}
}

// orphanReport is what the orphan maker tells the agent.
type orphanReport struct {
	PID   int   `json:"pid"`
	Event Event `json:"event"`
}

// runIdle is a process that waits until it is killed. It asks the kernel to
// kill it when its parent dies, so it can never outlive its sandbox.
func runIdle() int {
	if os.Getenv(envNoPdeath) == "" {
		_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
		// If the parent died before prctl took effect we were re-parented
		// already and no signal will come: do not linger. (Comparing with
		// 1 would be wrong: inside a PID namespace the agent is PID 1.)
		// A parent outside our PID namespace shows as PPID 0: that is
		// the agent after unshare(CLONE_NEWPID), still alive.
		if want := os.Getenv(envParent); want != "" && os.Getppid() != 0 && strconv.Itoa(os.Getppid()) != want {
			return 0
		}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGTERM, unix.SIGINT, unix.SIGHUP)
	<-ch
	return 0
}

// runOrphan starts an idle grandchild without a parent-death signal (its
// parent is about to exit on purpose), reports its PID and the clone that
// made it, and exits once its stdin closes.
func runOrphan() int {
	cmd := exec.Command("/proc/self/exe", hiddenIdle)
	cmd.Env = append(os.Environ(), envNoPdeath+"=1")
	err := cmd.Start()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	call, flags := issuedClone(&syscall.SysProcAttr{})
	ev := newEvent(call, cloneArgs(call, flags), int64(pid), err)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nslab orphan:", err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(orphanReport{PID: pid, Event: ev}); err != nil {
		return 1
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// childObserve starts a short-lived child that observes what it sees and
// reports it. The child is created in the agent's pid_for_children and
// time_for_children namespaces, so it shows what unshare(CLONE_NEWPID) or
// unshare(CLONE_NEWTIME) did for the agent's future children.
func (a *agent) childObserve(views []View) (*Snapshot, error) {
	b, err := json.Marshal(views)
	if err != nil {
		return nil, fmt.Errorf("encode views: %w", err)
	}
	cmd := exec.Command("/proc/self/exe", hiddenObserve, string(b))
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("observer pipe: %w", err)
	}
	err = cmd.Start()
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	a.recordClone(pid, err, "a child, to look from inside the namespaces the agent's children get")
	if err != nil {
		return nil, syscallErr("start observer child", err)
	}
	// Not cmd.Wait: the agent's reaper collects every child. Reading to
	// EOF is enough; the pipe closes when the child exits.
	var snap Snapshot
	done := make(chan error, 1)
	go func() { done <- json.NewDecoder(io.LimitReader(out, maxLine)).Decode(&snap) }()
	select {
	case err = <-done:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		err = fmt.Errorf("%w: observer child gave no answer within 3s", ErrAgent)
	}
	if err != nil {
		return nil, fmt.Errorf("observer child: %w", err)
	}
	// Wait until the reaper collected it, so the next PID view shows no
	// zombie and, when it was a PID namespace's init, the namespace is
	// dead before the caller acts on it (a shell entering it would be
	// killed with it). kill(pid, 0) succeeds until the zombie is reaped.
	// The child answered already, so it is exiting; but its exit can take
	// more than a second (a -race build sleeps 1 s at exit), so the bound
	// is generous, and a child still there after it is killed.
	if !waitReaped(pid, 5*time.Second) {
		_ = cmd.Process.Kill()
		waitReaped(pid, time.Second)
	}
	snap.Side = "child"
	return &snap, nil
}

// runObserveChild is the observer child: it prints ObserveSelf as JSON.
func runObserveChild(args []string) int {
	var views []View
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &views) != nil {
		fmt.Fprintln(os.Stderr, "nslab observe: bad views")
		return 2
	}
	snap := ObserveSelf(views)
	snap.PID = os.Getpid()
	if err := json.NewEncoder(os.Stdout).Encode(snap); err != nil {
		return 1
	}
	return 0
}

// recordClone traces a plain child start by os/exec, with the flags Go
// really passes (see issuedClone).
func (a *agent) recordClone(pid int, err error, note string) {
	call, flags := issuedClone(&syscall.SysProcAttr{})
	a.record(call, cloneArgs(call, flags), int64(pid), err, "", NSID{}, NSID{}, note)
}

// waitReaped polls (bounded) until pid no longer exists, and says whether
// it is gone.
func waitReaped(pid int, bound time.Duration) bool {
	for end := time.Now().Add(bound); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if unix.Kill(pid, 0) != nil {
			return true
		}
	}
	return unix.Kill(pid, 0) != nil
}
