package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
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
)

// agent is the state of one agent process. It lives only in the agent.
type agent struct {
	host   IDs
	out    *os.File
	wmu    sync.Mutex
	events []Event
	seq    int
	warm   bool
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
			return 0
		}
	}
	return 0
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

// record adds a trace event for a call the agent just made.
func (a *agent) record(syscall string, args []string, ret int64, err error, kind string, before, after NSID, note string) {
	a.seq++
	e := Event{Seq: a.seq, Time: time.Now(), Syscall: syscall, Args: args, Ret: ret,
		PID: os.Getpid(), TID: unix.Gettid(), Kind: kind, Before: before, After: after, Note: note}
	if err != nil {
		e.Ret = -1
		e.Errno = errnoName(err)
		if e.Errno == "" {
			e.Errno = err.Error()
		}
	}
	a.events = append(a.events, e)
}

func (a *agent) makePrivate() error {
	err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	a.record("mount", []string{"NULL", `"/"`, "NULL", "MS_REC|MS_PRIVATE", "NULL"}, 0, err, "", NSID{}, NSID{},
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
		err = fmt.Errorf("%w: unknown agent operation %q", ErrBadInput, r.Op)
	}
	rep.Err = toWire(r.Op, err)
	return rep
}

func (a *agent) ids() IDs {
	ids, _ := ReadIDs(0)
	return ids
}

// unshare calls unshare(2) on the agent's main thread.
func (a *agent) unshare(flags uintptr) error {
	if flags&^AllFlags() != 0 || flags == 0 {
		return fmt.Errorf("%w: unshare takes CLONE_NEW* flags, got %#x", ErrBadInput, flags)
	}
	if flags&(CloneNewPID|CloneNewTime) != 0 {
		a.warmPidfdProbe()
	}
	before := a.ids()
	if flags&CloneNewNS != 0 {
		// The mount namespace hangs off the fs_struct, which all Go threads
		// share: unshare(CLONE_NEWNS) fails with EINVAL until this thread
		// has its own copy.
		err := unix.Unshare(unix.CLONE_FS)
		a.record("unshare", []string{"CLONE_FS"}, 0, err, "", NSID{}, NSID{}, "give this thread its own root/cwd first: the mount namespace hangs off it")
		if err != nil {
			return syscallErr("unshare(CLONE_FS)", err)
		}
	}
	err := unix.Unshare(int(flags))
	after := a.ids()
	kinds := KindsIn(flags)
	note := ""
	var kindName string
	var b, af NSID
	if len(kinds) == 1 {
		k := kinds[0]
		kindName = k.ProcName
		if k.ChildrenProcName != "" {
			kindName = k.ChildrenProcName
			note = fmt.Sprintf("only %s changes: the caller stays in its %s namespace, its next children go into the new one", k.ChildrenProcName, k.Name)
		}
		b, af = before[kindName], after[kindName]
	}
	if flags&CloneNewUser != 0 && err != nil {
		note = "a multithreaded process (every Go program) may not unshare its user namespace: the kernel answers EINVAL"
	}
	a.record("unshare", []string{FlagString(flags)}, 0, err, kindName, b, af, note)
	if err != nil {
		return syscallErr("unshare("+FlagString(flags)+")", err)
	}
	if flags&CloneNewNS != 0 {
		return a.makePrivate()
	}
	return nil
}

// setns joins the namespace of kind of process pid, with nstype as given
// (0: no check), on the agent's main thread.
func (a *agent) setns(pid int, kind string, nstype uintptr) error {
	k, err := KindByName(kind)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	if pid <= 0 {
		return fmt.Errorf("%w: setns needs a process id", ErrBadInput)
	}
	path := fmt.Sprintf("/proc/%d/ns/%s", pid, k.ProcName)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	a.record("openat", []string{"AT_FDCWD", fmt.Sprintf("%q", path), "O_RDONLY|O_CLOEXEC"}, int64(fd), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return syscallErr("open "+path, err)
	}
	defer unix.Close(fd)
	if k.Flag == CloneNewNS {
		err := unix.Unshare(unix.CLONE_FS)
		a.record("unshare", []string{"CLONE_FS"}, 0, err, "", NSID{}, NSID{}, "a thread sharing its root/cwd with others may not change mount namespace")
		if err != nil {
			return syscallErr("unshare(CLONE_FS)", err)
		}
	}
	if k.ChildrenProcName != "" {
		a.warmPidfdProbe()
	}
	watch := k.ProcName
	if k.ChildrenProcName != "" {
		watch = k.ChildrenProcName
	}
	before := a.ids()[watch]
	err = unix.Setns(fd, int(nstype))
	after := a.ids()[watch]
	note := ""
	switch {
	case err != nil && errors.Is(err, unix.EINVAL) && nstype != 0 && nstype != k.Flag:
		note = fmt.Sprintf("nstype %s does not match the %s namespace the fd refers to", FlagString(nstype), k.Name)
	case err != nil && k.Flag == CloneNewUser:
		note = "a multithreaded process (every Go program) may not join a user namespace; nslab's shell does it in C before the Go runtime starts"
	case err == nil && nstype == 0:
		note = "nstype 0: the kernel joined whatever kind the fd refers to, without checking"
	case err == nil && k.ChildrenProcName != "":
		note = "the caller stays where it is; only its future children are created in the joined namespace"
	}
	ntype := "0"
	if nstype != 0 {
		ntype = FlagString(nstype)
	}
	a.record("setns", []string{fmt.Sprint(fd), ntype}, 0, err, watch, before, after, note)
	return syscallErr(fmt.Sprintf("setns(%s, %s)", path, ntype), err)
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

func (a *agent) setUTSName(op, name string) error {
	if err := ValidateHostname(name); err != nil {
		return err
	}
	if err := a.requireOwn("uts"); err != nil {
		return err
	}
	var err error
	if op == opHostname {
		err = unix.Sethostname([]byte(name))
	} else {
		err = unix.Setdomainname([]byte(name))
	}
	a.record(op, []string{fmt.Sprintf("%q", name), fmt.Sprint(len(name))}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr(op, err)
}

func (a *agent) mount(fstype, target, data string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	switch fstype {
	case "tmpfs", "proc", "mqueue":
	default:
		return fmt.Errorf("%w: nslab mounts only tmpfs, proc or mqueue, not %q", ErrBadInput, fstype)
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	if st, err := os.Stat(target); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: mount point %s is not a directory in the sandbox", ErrBadInput, target)
	}
	var flags uintptr = unix.MS_NOSUID | unix.MS_NODEV
	if fstype != "tmpfs" {
		flags |= unix.MS_NOEXEC
	}
	err := unix.Mount(fstype, target, fstype, flags, data)
	d := "NULL"
	if data != "" {
		d = fmt.Sprintf("%q", data)
	}
	a.record("mount", []string{fmt.Sprintf("%q", fstype), fmt.Sprintf("%q", target), fmt.Sprintf("%q", fstype), "MS_NOSUID|MS_NODEV" + map[bool]string{true: "|MS_NOEXEC"}[fstype != "tmpfs"], d}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr("mount "+fstype+" on "+target, err)
}

func (a *agent) umount(target string) error {
	if err := ValidateMountTarget(target); err != nil {
		return err
	}
	if err := a.requireOwn("mnt"); err != nil {
		return err
	}
	err := unix.Unmount(target, 0)
	a.record("umount2", []string{fmt.Sprintf("%q", target), "0"}, 0, err, "", NSID{}, NSID{}, "")
	return syscallErr("umount "+target, err)
}

func (a *agent) linkUp(name string) error {
	if err := a.requireOwn("net"); err != nil {
		return err
	}
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetUp(l)
	}
	a.record("netlink", []string{"RTM_NEWLINK", fmt.Sprintf("%q", name), "IFF_UP"}, 0, err, "", NSID{}, NSID{}, "the same as: ip link set "+name+" up")
	return syscallErr("link set "+name+" up", err)
}

func (a *agent) addAddr(name, cidr string) error {
	if err := a.requireOwn("net"); err != nil {
		return err
	}
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("%w: address %q: %w", ErrBadInput, cidr, err)
	}
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.AddrAdd(l, addr)
	}
	a.record("netlink", []string{"RTM_NEWADDR", fmt.Sprintf("%q", name), cidr}, 0, err, "", NSID{}, NSID{}, "the same as: ip addr add "+cidr+" dev "+name)
	return syscallErr("addr add "+cidr+" dev "+name, err)
}

// ping sends one ICMP echo request from the agent's network namespace and
// waits up to a second for the reply.
func (a *agent) ping(addr string) (string, error) {
	ip := net.ParseIP(addr).To4()
	if ip == nil {
		return "", fmt.Errorf("%w: %q is no IPv4 address", ErrBadInput, addr)
	}
	rtt, err := pingOnce(ip, time.Second)
	a.record("sendto", []string{"ICMP_ECHO", addr}, 0, err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", fmt.Errorf("ping %s: %w", addr, err)
	}
	return fmt.Sprintf("reply from %s in %v", addr, rtt.Round(time.Microsecond)), nil
}

// createIPC makes one System V message queue, one shared memory segment and
// one POSIX message queue in the agent's IPC namespace.
func (a *agent) createIPC(name string) (string, error) {
	if err := a.requireOwn("ipc"); err != nil {
		return "", err
	}
	if err := ValidateMQName(name); err != nil {
		return "", err
	}
	const key = 0x6e736c62 // "nslb"
	var out []string
	id, err := unix.SysvShmGet(key, 4096, unix.IPC_CREAT|0o600)
	a.record("shmget", []string{fmt.Sprintf("%#x", key), "4096", "IPC_CREAT|0600"}, int64(id), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("shmget", err)
	}
	out = append(out, fmt.Sprintf("shm id %d", id))
	mid, _, errno := unix.Syscall(unix.SYS_MSGGET, key, unix.IPC_CREAT|0o600, 0)
	err = errnoOrNil(errno)
	a.record("msgget", []string{fmt.Sprintf("%#x", key), "IPC_CREAT|0600"}, int64(mid), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("msgget", err)
	}
	out = append(out, fmt.Sprintf("msg id %d", mid))
	fd, err := mqOpen(name, unix.O_CREAT|unix.O_RDWR, 0o600)
	a.record("mq_open", []string{fmt.Sprintf("%q", name), "O_CREAT|O_RDWR", "0600", "NULL"}, int64(fd), err, "", NSID{}, NSID{}, "")
	if err != nil {
		return "", syscallErr("mq_open", err)
	}
	unix.Close(fd)
	out = append(out, "mq "+name)
	return strings.Join(out, ", "), nil
}

func errnoOrNil(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

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

// orphan starts a child that starts a grandchild and exits at once. The
// grandchild is re-parented to the namespace's PID 1: the agent.
func (a *agent) orphan() ([]int, error) {
	if os.Getpid() != 1 {
		return nil, fmt.Errorf("%w: the orphan demo needs the agent to be PID 1 of a new PID namespace", ErrBadInput)
	}
	cmd := exec.Command("/proc/self/exe", hiddenOrphan)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("orphan pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, syscallErr("start orphan maker", err)
	}
	var gc int
	_, err = fmt.Fscan(out, &gc)
	if err != nil {
		return nil, fmt.Errorf("%w: orphan maker said nothing: %w", ErrAgent, err)
	}
	return []int{cmd.Process.Pid, gc}, nil
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
// parent is about to exit on purpose), prints its PID and exits.
func runOrphan() int {
	cmd := exec.Command("/proc/self/exe", hiddenIdle)
	cmd.Env = append(os.Environ(), envNoPdeath+"=1")
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "nslab orphan:", err)
		return 1
	}
	fmt.Println(cmd.Process.Pid)
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
	// Wait (bounded) until the reaper collected it, so the next PID view
	// shows no zombie. kill(pid, 0) succeeds until the zombie is reaped.
	for end := time.Now().Add(time.Second); time.Now().Before(end) && unix.Kill(pid, 0) == nil; {
		time.Sleep(2 * time.Millisecond)
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

// timeOffset writes one clock offset for the agent's time_for_children
// namespace. The kernel takes offsets only before the first process enters
// that namespace (EACCES afterwards).
func (a *agent) timeOffset(clock string, secs int) error {
	if clock != "monotonic" && clock != "boottime" {
		return fmt.Errorf("%w: clock %q: use monotonic or boottime", ErrBadInput, clock)
	}
	if err := a.requireOwnChildren("time_for_children", "time"); err != nil {
		return err
	}
	line := fmt.Sprintf("%s %d 0", clock, secs)
	f, err := os.OpenFile("/proc/self/timens_offsets", os.O_WRONLY, 0)
	if err == nil {
		_, err = f.WriteString(line)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	a.record("write", []string{`"/proc/self/timens_offsets"`, fmt.Sprintf("%q", line)}, int64(len(line)), err, "", NSID{}, NSID{},
		"offsets can be written only before any process has entered the new time namespace")
	return syscallErr("write timens_offsets", err)
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

// recordClone traces a plain child start by os/exec, with the flags Go
// really passes (see issuedClone).
func (a *agent) recordClone(pid int, err error, note string) {
	call, flags := issuedClone(&syscall.SysProcAttr{})
	a.record(call, cloneArgs(call, flags), int64(pid), err, "", NSID{}, NSID{}, note)
}
