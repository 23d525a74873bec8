package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	// A hidden entry point changes namespaces of its main thread (unshare,
	// setns are per thread). Locking the main goroutine to the main thread
	// here, in init, makes every request run on the thread whose namespaces
	// /proc/AGENT/ns/* shows: the thread-group leader's.
	if IsHidden(os.Args) {
		runtime.LockOSThread()
	}
}

// Environment variables the engine passes to its agents.
const (
	envAgentHost = "_NSLAB_AGENT_HOST" // JSON IDs of the engine's (the host's) namespaces
	envNoPdeath  = "_NSLAB_IDLE_NOPDEATH"
	envParent    = "_NSLAB_IDLE_PARENT" // the parent's PID as the child sees it
	envAgentMaps = "_NSLAB_AGENT_MAPS"  // wait on fd 5 for the engine's id maps
	// envAgentConfined: a learner's agent (NewConfinedEngine): drop the
	// host's groups, mount a fresh /proc and tmpfs on shared directories.
	envAgentConfined = "_NSLAB_AGENT_CONFINED"
)

// agent is the state of one agent process. It lives only in the agent.
type agent struct {
	host   IDs
	out    *os.File
	wmu    sync.Mutex
	events []Event
	seq    int
	warm   bool
	// orphanHold keeps the orphan maker alive until the engine has
	// translated its pid and tid.
	orphanHold io.WriteCloser
	// own holds the device numbers of the tmpfs mounts this agent made
	// for a root file system (rootfs_linux.go): the only places it creates
	// files.
	own map[uint64]bool
}

// warmPidfdProbe makes sure Go's one-time pidfd probe is behind us. The
// first process os/exec starts triggers it: a throwaway child that exits
// at once. After unshare(CLONE_NEWPID) that child would become PID 1 of the
// new namespace and, by exiting, kill it (later forks: ENOMEM); after
// unshare(CLONE_NEWTIME) it would enter the new time namespace and freeze
// its offsets. So start one harmless child first, only when it matters.
func (a *agent) warmPidfdProbe() {
	if a.warm {
		return
	}
	a.warm = true
	_ = exec.Command("/proc/self/exe", hiddenTrue).Run()
}

func runAgent(_ []string) int {
	a := &agent{out: os.NewFile(4, "agent-replies")}
	in := os.NewFile(3, "agent-requests")
	if in == nil || a.out == nil {
		fmt.Fprintln(os.Stderr, "nslab agent: started without its control pipes (fds 3 and 4)")
		return 2
	}
	if err := json.Unmarshal([]byte(os.Getenv(envAgentHost)), &a.host); err != nil || a.host["mnt"].IsZero() {
		fmt.Fprintln(os.Stderr, "nslab agent: missing host namespace identities")
		return 2
	}
	os.Unsetenv(envAgentHost)
	confined := os.Getenv(envAgentConfined) != ""
	os.Unsetenv(envAgentConfined)
	if os.Getenv(envAgentMaps) != "" {
		os.Unsetenv(envAgentMaps)
		if err := agentBecomeRoot(confined); err != nil {
			_ = a.send(reply{ID: 0, Err: toWire("become root of the user namespace", err)})
			return 1
		}
	}

	// Orphans inside the sandbox come to us even when we are not PID 1
	// (the unshare lessons), and we reap them, so no zombie outlives a step.
	_ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	go reapChildren()

	// Host safety first: a clone(CLONE_NEWNS) copies the host's propagation,
	// so on a systemd host (/ shared) our mounts would appear on the host.
	// Go makes / private only for Unshareflags, never for Cloneflags.
	if cur, err := ReadIDs(0); err == nil && cur["mnt"] != a.host["mnt"] {
		if err := a.makePrivate(); err != nil {
			_ = a.send(reply{ID: 0, Err: toWire("mount / private", err)})
			return 1
		}
	}
	if confined {
		if err := a.confineAgent(); err != nil {
			_ = a.send(reply{ID: 0, Err: toWire("confine the learner's mounts", err)})
			return 1
		}
	}

	ids, err := ReadIDs(0)
	if err != nil {
		_ = a.send(reply{ID: 0, Err: toWire("read namespaces", err)})
		return 1
	}
	if err := a.send(reply{ID: 0, PID: os.Getpid(), IDs: ids, Events: a.take()}); err != nil {
		return 1
	}

	reqs := make(chan request)
	go func() {
		defer close(reqs)
		lr := newLineReader(in)
		for {
			var r request
			if err := lr.next(&r); err != nil {
				return // the engine closed the pipe or sent garbage: stop
			}
			reqs <- r
		}
	}()
	for r := range reqs {
		rep := a.handle(r)
		rep.ID = r.ID
		rep.Events = a.take()
		if err := a.send(rep); err != nil {
			return 1
		}
		if r.Op == opExit {
			killChildren()
			return 0
		}
	}
	killChildren()
	return 0
}

// killChildren kills the agent's children and waits (bounded) until
// reapChildren has reaped them. A SIGKILL to the agent's process group
// alone kills them with it, and then no one waits for them: re-parented
// to the host's init, they stay zombies, still shown in the sandbox's user
// namespace (the credentials outlive the other namespaces), until that
// init gets round to them. The agent is their parent and their reaper.
func killChildren() {
	pids := childPIDs()
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	deadline := time.Now().Add(2 * time.Second)
	for _, pid := range pids {
		for unix.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// childPIDs lists the agent's children from /proc/self/task/*/children
// (each thread lists those it forked).
func childPIDs() []int {
	tasks, _ := os.ReadDir("/proc/self/task")
	var pids []int
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil && pid > 0 {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// reapChildren waits for every child that exits. As PID 1 of a namespace
// the agent inherits all orphans there, and the kernel leaves them zombies
// until their reaper waits for them.
func reapChildren() {
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, unix.SIGCHLD)
	for range ch {
		for {
			var ws unix.WaitStatus
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}

func (a *agent) send(r reply) error {
	a.wmu.Lock()
	defer a.wmu.Unlock()
	return writeLine(a.out, r)
}

func (a *agent) take() []Event {
	ev := a.events
	a.events = nil
	return ev
}

// record adds a trace event for a call the calling thread just made, with
// the arguments as passed and the raw return value (see newEvent).
func (a *agent) record(syscall string, args []string, ret int64, err error, kind string, before, after NSID, note string) {
	e := newEvent(syscall, args, ret, err)
	e.Kind, e.Before, e.After, e.Note = kind, before, after, note
	a.add(e)
}

// add appends an event made by newEvent.
func (a *agent) add(e Event) {
	a.seq++
	e.Seq = a.seq
	a.events = append(a.events, e)
}

func (a *agent) makePrivate() error {
	const flags = unix.MS_REC | unix.MS_PRIVATE
	err := unix.Mount("", "/", "", flags, "")
	// unix.Mount passes "" as a pointer to an empty string, and data "" as
	// NULL; strace shows the fstype only as an address, the kernel ignores
	// it for a propagation change.
	a.record("mount", []string{strArg(""), strArg("/"), strArg(""), mountFlagsArg(flags), "NULL"}, 0, err, "", NSID{}, NSID{},
		"make every mount in the new mount namespace private, so nothing propagates back to the host")
	return syscallErr("mount / MS_REC|MS_PRIVATE", err)
}

// toWire turns an error into its protocol form.
func toWire(op string, err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Op: op, Msg: err.Error(), Errno: errnoName(err)}
	switch {
	case errors.Is(err, ErrSameNamespace):
		w.Refused = refusedSame
	case errors.Is(err, ErrBadInput):
		w.Refused = refusedInput
	}
	return w
}

func (a *agent) handle(r request) reply {
	var err error
	var rep reply
	switch r.Op {
	case opUnshare:
		err = a.unshare(uintptr(r.Flags))
	case opSetns:
		err = a.setns(r.PID, r.Kind, uintptr(r.NSType))
	case opHostname, opDomainname:
		err = a.setUTSName(r.Op, r.Name)
	case opMount:
		err = a.mount(r.FSType, r.Path, r.Data)
	case opUmount:
		err = a.umount(r.Path)
	case opLinkUp:
		err = a.linkUp(r.Name)
	case opAddr:
		err = a.addAddr(r.Name, r.Addr)
	case opPing:
		rep.Text, err = a.ping(r.Addr)
	case opIPC:
		rep.Text, err = a.createIPC(r.Name)
	case opSpawn:
		rep.PIDs, err = a.spawn(r.N)
	case opOrphan:
		rep.PIDs, err = a.orphan()
	case opOrphanRelease:
		a.orphanRelease()
	case opObserve:
		snap := ObserveSelf(r.Views)
		rep.Snapshot = &snap
	case opChildObs:
		rep.Snapshot, err = a.childObserve(r.Views)
	case opTimeOffset:
		err = a.timeOffset(r.Name, r.N)
	case opPropagation:
		err = a.propagation(r.Path, r.Name)
	case opBind:
		err = a.bind(r.Name, r.Path)
	case opExit:
	default:
		var ok bool
		if ok, err = a.handleRootfs(r); ok {
			break
		}
		if r.Op == opSpawnMountNS {
			rep.PIDs, err = a.spawnMountNS()
			break
		}
		err = fmt.Errorf("%w: unknown agent operation %q", ErrBadInput, r.Op)
	}
	rep.Err = toWire(r.Op, err)
	return rep
}

func (a *agent) ids() IDs {
	ids, _ := ReadIDs(0)
	return ids
}

// requireOwn refuses to act unless this thread's namespace of kind differs
// from the host's: the last line of defence against renaming the host.
func (a *agent) requireOwn(kind string) error {
	cur := a.ids()[kind]
	if cur.IsZero() || cur == a.host[kind] {
		return fmt.Errorf("%s namespace %s: %w", kind, cur, ErrSameNamespace)
	}
	return nil
}

// requireOwnChildren is requireOwn for the kinds that unshare moves only
// for children: the namespace of entry (e.g. time_for_children) must differ
// from the host's namespace of kind.
func (a *agent) requireOwnChildren(entry, kind string) error {
	cur := a.ids()[entry]
	if cur.IsZero() || cur == a.host[kind] {
		return fmt.Errorf("%s namespace %s: %w", entry, cur, ErrSameNamespace)
	}
	return nil
}

// agentBecomeRoot waits until the engine wrote this process's uid_map and
// gid_map, then makes it uid and gid 0 of its user namespace. It runs on
// ambient capabilities (see Engine.Start), which it drops afterwards, so
// the capability sets end as an execve by root inside would leave them.
func agentBecomeRoot(confined bool) error {
	f := os.NewFile(5, "agent-maps")
	if f == nil {
		return fmt.Errorf("%w: started without its id-map pipe (fd 5)", ErrAgent)
	}
	var b [1]byte
	_, err := f.Read(b[:])
	f.Close()
	if err != nil {
		return fmt.Errorf("%w: the engine did not write the id maps: %w", ErrAgent, err)
	}
	// Mapped to nobody outside, the agent (host uid 0, unmapped) shows as
	// the overflow uid until it switches to the mapped 0.
	if os.Getgid() != 0 {
		if err := unix.Setresgid(0, 0, 0); err != nil {
			return syscallErr("setresgid(0, 0, 0)", err)
		}
	}
	if confined {
		// The agent was started by root, with root's supplementary groups:
		// unmapped inside, they still grant host group 0's file access.
		// syscall.Setgroups changes every thread, as credentials must.
		if err := syscall.Setgroups(nil); err != nil {
			return syscallErr("setgroups(0, NULL)", err)
		}
	}
	if os.Getuid() != 0 {
		if err := unix.Setresuid(0, 0, 0); err != nil {
			return syscallErr("setresuid(0, 0, 0)", err)
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return syscallErr("clear ambient capabilities", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return syscallErr("capget", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return syscallErr("capset", err)
	}
	return nil
}
