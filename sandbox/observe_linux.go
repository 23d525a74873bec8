package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/sys/mountinfo"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/internal/nldump"
)

// threadSelf is where a thread reads its own namespaces. After unshare or
// setns on a locked thread, the thread's namespaces differ from the
// process's (the thread-group leader's) ones, which /proc/self shows.
const threadSelf = "/proc/thread-self"

// ObserveSelf reports what the calling thread sees, for every view asked.
// The caller must run on a locked OS thread (runtime.LockOSThread): uts,
// net, ipc, mnt and cgroup namespaces are per thread once one thread has
// called unshare or setns. ViewPIDs is left for the caller to fill (from the
// host with ObserveProcs, or with ObserveAllProcs). A view that fails
// records its error in Errs and the others are still filled. Side is
// "sandbox"; ObserveHost overrides it.
func ObserveSelf(views []View) Snapshot {
	s := Snapshot{Side: "sandbox", PID: os.Getpid(), Taken: time.Now(), Views: slices.Clone(views)}
	buf := make([]byte, 8192)

	// The mount table is read once even when both the mount and the IPC
	// view need it.
	var (
		mounts     []Mount
		mountsErr  error
		mountsRead bool
	)
	getMounts := func() ([]Mount, error) {
		if !mountsRead {
			mounts, mountsErr = readMounts(threadSelf + "/mountinfo")
			mountsRead = true
		}
		return mounts, mountsErr
	}

	for _, v := range views {
		var err error
		switch v {
		case ViewIDs:
			s.IDs, err = ReadIDs(0) // pid 0: the calling thread
		case ViewUTS:
			s.Hostname, s.Domainname, err = readUTS()
		case ViewPIDs:
			// Filled by the caller: a PID namespace's members are best
			// listed from the host's /proc (ObserveProcs).
		case ViewMount:
			s.Mounts, err = getMounts()
		case ViewNet:
			s.Links, s.Routes, err = readNet()
		case ViewIPC:
			s.IPC, err = readIPC(buf, getMounts)
		case ViewUser:
			s.User, err = readUser(buf)
		case ViewCgrp:
			var b []byte
			if b, buf, err = readFile(threadSelf+"/cgroup", buf); err == nil {
				s.Cgroup, err = parseCgroup(b)
			}
		case ViewTime:
			s.Clocks, err = readClocks(buf)
		default:
			err = fmt.Errorf("%w: unknown view %q", ErrBadInput, v)
		}
		if err != nil {
			if s.Errs == nil {
				s.Errs = ViewErrs{}
			}
			s.Errs[v] = err.Error()
		}
	}
	return s
}

// ObserveHost reports what the host sees, for every view asked, including
// every process for ViewPIDs. It observes from a fresh goroutine locked to
// its thread, so that a caller whose own thread has entered a namespace
// still gets the host's view. The process list, all /proc reads, is taken
// at the same time on another goroutine.
func ObserveHost(views []View) Snapshot {
	type procsResult struct {
		procs []Proc
		err   error
	}
	var procsDone chan procsResult
	if slices.Contains(views, ViewPIDs) {
		procsDone = make(chan procsResult, 1)
		go func() {
			procs, err := ObserveAllProcs()
			procsDone <- procsResult{procs, err}
		}()
	}
	done := make(chan Snapshot, 1)
	go func() {
		// A fresh goroutine never runs on a thread that another goroutine
		// holds locked, so this thread is in the process's namespaces.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		done <- ObserveSelf(views)
	}()
	s := <-done
	s.Side = "host"
	if procsDone != nil {
		r := <-procsDone
		if r.err != nil {
			if s.Errs == nil {
				s.Errs = ViewErrs{}
			}
			s.Errs[ViewPIDs] = r.err.Error()
		}
		s.Procs = r.procs
	}
	return s
}

// ObserveAllProcs lists every process in this process's /proc, with PID
// and HostPID both the PID there (the host PID, on the host). Processes
// that exit while being read are left out.
func ObserveAllProcs() ([]Proc, error) {
	names, err := listPIDs()
	if err != nil {
		return nil, err
	}
	raw := scanProcs(names, func(name string, buf []byte) (rawProc, []byte, bool) {
		r, buf, ok := readProc(name, buf)
		r.PID = r.HostPID
		return r, buf, ok
	})
	return finishProcs(raw), nil
}

// ObserveProcs lists, from this process's /proc (the host's), the
// processes that are members of PID namespace pidns or of a namespace
// below it. Each Proc's PID and PPID are numbers inside pidns (PPID 0 when
// the parent is outside it). Processes that exit while being read, or that
// this process may not inspect, are left out. An empty namespace (a
// pid_for_children nobody has been born into yet) is an empty list.
//
// ObserveProcsAt is faster when a path to the namespace is known: this
// function first has to find a member to open the namespace through.
func ObserveProcs(pidns NSID) ([]Proc, error) {
	if pidns.IsZero() {
		return nil, fmt.Errorf("observe processes: %w: no PID namespace given", ErrBadInput)
	}
	names, err := listPIDs()
	if err != nil {
		return nil, err
	}
	// A sandbox's processes are usually the newest: look for a member
	// from the highest PID down.
	for i := len(names) - 1; i >= 0; i-- {
		path := "/proc/" + names[i] + "/ns/pid"
		if id, err := readNSID(path); err != nil || id != pidns {
			continue
		}
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue // it just exited: look on
		}
		defer unix.Close(fd)
		return observeProcsFD(fd, pidns, names)
	}
	return []Proc{}, nil // no process has this namespace as its own
}

// ObserveProcsAt is ObserveProcs for the PID namespace that nsPath names:
// "/proc/PID/ns/pid", or "/proc/PID/ns/pid_for_children" for the
// namespace an unshare(CLONE_NEWPID) caller's children are born into.
func ObserveProcsAt(nsPath string) ([]Proc, error) {
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("observe processes: open %s: %w", nsPath, err)
	}
	defer unix.Close(fd)
	// NS_GET_NSTYPE (Linux 4.11) tells a PID namespace from the others.
	if t, err := unix.IoctlRetInt(fd, unix.NS_GET_NSTYPE); err == nil && t != unix.CLONE_NEWPID {
		return nil, fmt.Errorf("observe processes: %w: %s is not a PID namespace", ErrBadInput, nsPath)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("observe processes: stat %s: %w", nsPath, err)
	}
	names, err := listPIDs()
	if err != nil {
		return nil, err
	}
	return observeProcsFD(fd, NSID{Dev: st.Dev, Ino: st.Ino}, names)
}

// observeProcsFD lists the members of the PID namespace open at nsfd (and
// of the namespaces below it) among names.
//
// Since Linux 6.11 the NS_GET_TGID_IN_PIDNS ioctl answers, for a PID of
// ours, the PID it has inside the namespace, or ESRCH when the process is
// not visible there: one cheap call per process and no path lookup. Older
// kernels (ENOTTY) take the stat-and-walk way.
func observeProcsFD(nsfd int, pidns NSID, names []string) ([]Proc, error) {
	if !procIsOurs() {
		return observeProcsWalk(pidns, names)
	}
	// Probe with our own PID: found or ESRCH both mean the kernel knows
	// the ioctl; ENOTTY means it is too old.
	if _, errno := tgidInPIDNS(nsfd, unix.Getpid()); errno != 0 && errno != unix.ESRCH {
		return observeProcsWalk(pidns, names)
	}
	raw := scanProcs(names, func(name string, buf []byte) (rawProc, []byte, bool) {
		hostPID, err := strconv.Atoi(name)
		if err != nil {
			return rawProc{}, buf, false
		}
		pid, errno := tgidInPIDNS(nsfd, hostPID)
		if errno != 0 || pid <= 0 {
			return rawProc{}, buf, false // outside the namespace, or gone
		}
		r, buf, ok := readProc(name, buf)
		if !ok || !slices.Contains(r.NSpid, pid) {
			return rawProc{}, buf, false // gone, or the PID was reused meanwhile
		}
		r.PID = pid
		return r, buf, true
	})
	return finishProcs(raw), nil
}

// tgidInPIDNS is ioctl(nsfd, NS_GET_TGID_IN_PIDNS, pid).
func tgidInPIDNS(nsfd, pid int) (int, unix.Errno) {
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(nsfd), unix.NS_GET_TGID_IN_PIDNS, uintptr(pid))
	return int(r), errno
}

// procIsOurs reports whether /proc belongs to our own PID namespace, so
// that its PIDs are the ones the kernel's PID arguments mean.
func procIsOurs() bool {
	self, err := os.Readlink("/proc/self")
	return err == nil && self == strconv.Itoa(os.Getpid())
}

// observeProcsWalk finds the members of pidns by the identity of each
// process's PID namespace, walking up with NS_GET_PARENT for the ones
// below it. It costs a stat per process.
func observeProcsWalk(pidns NSID, names []string) ([]Proc, error) {
	// depth caches, per PID namespace met, how many levels it lies below
	// pidns (-1: not below). Most processes share a handful of namespaces,
	// so the parent walk runs a few times per call, not per process.
	depth := map[NSID]int{pidns: 0}
	buf := make([]byte, 4096)
	var raw []rawProc
	for _, name := range names {
		dir := "/proc/" + name
		id, err := readNSID(dir + "/ns/pid")
		if err != nil {
			continue // gone, or not ours to inspect
		}
		d, known := depth[id]
		if !known {
			var ok bool
			if d, ok = pidnsDepth(dir+"/ns/pid", pidns, depth); !ok {
				continue
			}
			depth[id] = d
		}
		if d < 0 {
			continue
		}
		var r rawProc
		var ok bool
		if r, buf, ok = readProc(name, buf); !ok {
			continue
		}
		if r.PID, ok = nspidAt(r.NSpid, d); !ok {
			continue // NSpid shorter than the nesting: cannot happen, skip
		}
		raw = append(raw, r)
	}
	return finishProcs(raw), nil
}

// pidnsDepth walks up from the PID namespace at path with the
// NS_GET_PARENT ioctl until it meets target (returning the number of steps)
// or the top this process may see (EPERM: returning -1). ok is false when
// the walk could not start (the process is gone); that answer is not to be
// cached.
func pidnsDepth(path string, target NSID, cache map[NSID]int) (depth int, ok bool) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	// PID namespaces nest at most 32 deep.
	for steps := 1; steps <= 33; steps++ {
		parent, err := unix.IoctlRetInt(fd, unix.NS_GET_PARENT)
		unix.Close(fd)
		if err != nil {
			return -1, true // EPERM: above us; ENOTTY: kernel before 4.9
		}
		fd = parent
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return -1, true
		}
		id := NSID{Dev: st.Dev, Ino: st.Ino}
		if id == target {
			unix.Close(fd)
			return steps, true
		}
		if d, known := cache[id]; known {
			unix.Close(fd)
			if d < 0 {
				return -1, true
			}
			return d + steps, true
		}
	}
	unix.Close(fd)
	return -1, true
}

// scanWorkers bounds the goroutines reading /proc: reading a process's
// files is all system calls, which run in parallel on as many cores.
const scanWorkers = 4

// scanProcs calls read for every name, on up to scanWorkers goroutines
// when there are enough names to pay for them, and collects the answers
// that are ok.
func scanProcs(names []string, read func(name string, buf []byte) (rawProc, []byte, bool)) []rawProc {
	workers := min(runtime.GOMAXPROCS(0), scanWorkers, len(names)/64)
	if workers <= 1 {
		return scanChunk(names, read)
	}
	parts := make([][]rawProc, workers)
	var wg sync.WaitGroup
	per := (len(names) + workers - 1) / workers
	for w := range workers {
		chunk := names[min(w*per, len(names)):min((w+1)*per, len(names))]
		wg.Go(func() { parts[w] = scanChunk(chunk, read) })
	}
	wg.Wait()
	var out []rawProc
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func scanChunk(names []string, read func(name string, buf []byte) (rawProc, []byte, bool)) []rawProc {
	buf := make([]byte, 4096)
	out := make([]rawProc, 0, len(names))
	for _, name := range names {
		var r rawProc
		var ok bool
		if r, buf, ok = read(name, buf); ok {
			out = append(out, r)
		}
	}
	return out
}

// readProc reads one process's status and cmdline. ok is false when the
// process went away (or may not be read) in between.
func readProc(name string, buf []byte) (rawProc, []byte, bool) {
	hostPID, err := strconv.Atoi(name)
	if err != nil {
		return rawProc{}, buf, false
	}
	dir := "/proc/" + name
	b, buf, err := readFile(dir+"/status", buf)
	if err != nil {
		return rawProc{}, buf, false
	}
	st, err := parseStatus(b)
	if err != nil {
		return rawProc{}, buf, false
	}
	r := rawProc{
		Proc:     Proc{HostPID: hostPID, NSpid: st.NSpid, Comm: st.Name, State: st.State},
		hostPPID: st.PPid,
	}
	if len(r.NSpid) == 0 {
		r.NSpid = []int{hostPID} // kernels before 4.1 have no NSpid line
	}
	// Kernel threads and zombies have no command line: skip the read
	// (kernel threads are most of a small VM's processes). A failed read
	// (the process just exited) leaves it empty too.
	if !st.Kthread && st.State != "Z" {
		if b, buf, err = readFileMax(dir+"/cmdline", buf, cmdlineMax*4); err == nil {
			r.Cmdline = shortCmdline(b)
		}
	}
	return r, buf, true
}

// listPIDs lists the numeric entries of /proc.
func listPIDs() ([]string, error) {
	f, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	out := names[:0]
	for _, n := range names {
		if n != "" && n[0] >= '1' && n[0] <= '9' {
			out = append(out, n)
		}
	}
	return out, nil
}

// readFile reads a whole (small, /proc) file into buf, growing it when
// needed, with bare syscalls: os.ReadFile's fstat and os.File's poller
// registration double the cost of reading hundreds of /proc files. It
// returns the content (aliasing the returned buffer) and the buffer to
// reuse.
func readFile(path string, buf []byte) ([]byte, []byte, error) {
	return readFileMax(path, buf, 1<<20)
}

// readFileMax is readFile that stops after max bytes. A read that
// returns less than asked ends the file: /proc's seq files hand over all
// they have in one read when the buffer is big enough, and saving the
// second, empty read matters across hundreds of processes.
func readFileMax(path string, buf []byte, max int) ([]byte, []byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, buf, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)
	if len(buf) == 0 {
		buf = make([]byte, 4096)
	}
	n := 0
	for n < max {
		if n == len(buf) {
			nb := make([]byte, 2*len(buf))
			copy(nb, buf)
			buf = nb
		}
		want := min(len(buf), max) - n
		m, err := unix.Read(fd, buf[n:n+want])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, buf, fmt.Errorf("read %s: %w", path, err)
		}
		n += m
		if m < want {
			break
		}
	}
	return buf[:n], buf, nil
}

// readUTS reads the node and domain name of the calling thread's UTS
// namespace.
func readUTS() (host, domain string, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", "", fmt.Errorf("uname: %w", err)
	}
	return unix.ByteSliceToString(u.Nodename[:]), unix.ByteSliceToString(u.Domainname[:]), nil
}

// readMounts parses a mountinfo file with github.com/moby/sys/mountinfo.
func readMounts(path string) ([]Mount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	defer f.Close()
	infos, err := mountinfo.GetMountsFromReader(f, nil)
	if err != nil {
		return nil, fmt.Errorf("mount table %s: %w", path, err)
	}
	out := make([]Mount, len(infos))
	for i, in := range infos {
		out[i] = mountFromInfo(in)
	}
	return out, nil
}

// readNet lists links, addresses and main-table routes through netlink.
// The handle's socket is opened on the calling thread, so it lives in that
// thread's network namespace; one socket serves the three dumps.
func readNet() ([]Link, []Route, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer h.Close()
	nlinks, err := nldump.Do("list links", h.LinkList)
	if err != nil {
		return nil, nil, err
	}
	addrs, err := nldump.Do("list addresses", func() ([]netlink.Addr, error) {
		return h.AddrList(nil, netlink.FAMILY_ALL)
	})
	if err != nil {
		return nil, nil, err
	}
	routes, err := nldump.Do("list routes", func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, nil, err
	}

	names := make(map[int]string, len(nlinks))
	for _, l := range nlinks {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	byIndex := make(map[int][]string, len(nlinks))
	for _, a := range addrs {
		if a.IPNet != nil {
			byIndex[a.LinkIndex] = append(byIndex[a.LinkIndex], a.IPNet.String())
		}
	}
	links := make([]Link, 0, len(nlinks))
	for _, l := range nlinks {
		at := l.Attrs()
		typ := l.Type()
		if at.Flags&net.FlagLoopback != 0 {
			typ = "loopback" // netlink calls lo a "device"
		}
		lk := Link{
			Index: at.Index,
			Name:  at.Name,
			Type:  typ,
			State: operState(at.OperState),
			Addrs: byIndex[at.Index],
		}
		if len(at.HardwareAddr) > 0 {
			lk.MAC = at.HardwareAddr.String()
		}
		if typ == "veth" && at.ParentIndex != 0 {
			// IFLA_LINK of a veth is its peer's index, in the peer's
			// namespace: a name only when the peer is here too.
			if n, ok := names[at.ParentIndex]; ok && at.NetNsID < 0 {
				lk.Peer = n
			} else {
				lk.Peer = "if" + strconv.Itoa(at.ParentIndex)
			}
		}
		links = append(links, lk)
	}
	sort.Slice(links, func(i, j int) bool { return links[i].Index < links[j].Index })

	out := make([]Route, 0, len(routes))
	for _, r := range routes {
		rt := Route{Dst: "default", Dev: names[r.LinkIndex], Scope: r.Scope.String(), Protocol: r.Protocol.String()}
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 || !r.Dst.IP.IsUnspecified() {
				rt.Dst = r.Dst.String()
			}
		}
		if r.Gw != nil {
			rt.Gateway = r.Gw.String()
		}
		if r.Src != nil {
			rt.Src = r.Src.String()
		}
		out = append(out, rt)
	}
	return links, out, nil
}

// operState renders a link's operational state the way ip(8) prints it.
func operState(s netlink.LinkOperState) string {
	return strings.ToUpper(strings.ReplaceAll(s.String(), "-", ""))
}

// mqueueNoMount is the note for a side whose mount table has no mqueue
// filesystem.
const mqueueNoMount = "no mqueue filesystem is mounted in this mount namespace, so POSIX message queues cannot be listed (mount -t mqueue none /dev/mqueue)"

// readIPC reads the System V objects of the calling thread's IPC
// namespace (/proc/sysvipc shows the reader's) and the POSIX queues of the
// mqueue mount in its mount table.
func readIPC(buf []byte, mounts func() ([]Mount, error)) (*IPC, error) {
	ipc := &IPC{}
	var errs []error
	for _, k := range []sysvKind{sysvMsg, sysvShm, sysvSem} {
		b, nb, err := readFile("/proc/sysvipc/"+k.file, buf)
		buf = nb
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs, err := parseSysvipc(b, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch k.file {
		case "msg":
			ipc.MsgQueues = objs
		case "shm":
			ipc.ShmSegs = objs
		case "sem":
			ipc.Semaphores = objs
		}
	}

	ms, err := mounts()
	if err != nil {
		ipc.MQueueNote = "the mount table could not be read, so POSIX message queues cannot be listed"
		return ipc, errors.Join(append(errs, err)...)
	}
	mq := ""
	for _, m := range ms {
		if m.FSType == "mqueue" && (mq == "" || m.Mountpoint == "/dev/mqueue") {
			mq = m.Mountpoint
		}
	}
	if mq == "" {
		ipc.MQueueNote = mqueueNoMount
		return ipc, errors.Join(errs...)
	}
	f, err := os.Open(mq)
	if err != nil {
		ipc.MQueueNote = fmt.Sprintf("the mqueue mount at %s could not be read", mq)
		return ipc, errors.Join(append(errs, fmt.Errorf("list POSIX queues: %w", err))...)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		errs = append(errs, fmt.Errorf("list POSIX queues: %w", err))
	}
	for _, n := range names {
		ipc.MQueues = append(ipc.MQueues, "/"+n)
	}
	sort.Strings(ipc.MQueues)
	return ipc, errors.Join(errs...)
}

// readUser reads the calling thread's credentials, ID maps and effective
// capabilities. The numbers in status and the maps are shown relative to
// the reader's own user namespace, which here is the observed one.
func readUser(buf []byte) (*User, error) {
	b, buf, err := readFile(threadSelf+"/status", buf)
	if err != nil {
		return nil, err
	}
	st, err := parseStatus(b)
	if err != nil {
		return nil, err
	}
	u := &User{UID: st.UID, GID: st.GID, EUID: st.EUID, EGID: st.EGID, CapEff: st.CapEff}
	u.CapNames = CapNames(u.CapEff)
	if b, buf, err = readFile(threadSelf+"/uid_map", buf); err != nil {
		return u, err
	}
	if u.UIDMap, err = parseIDMap(b); err != nil {
		return u, err
	}
	if b, buf, err = readFile(threadSelf+"/gid_map", buf); err != nil {
		return u, err
	}
	if u.GIDMap, err = parseIDMap(b); err != nil {
		return u, err
	}
	if b, _, err = readFile(threadSelf+"/setgroups", buf); err != nil {
		return u, err
	}
	u.Setgroups = strings.TrimSpace(string(b))
	return u, nil
}

// readClocks reads the clocks a time namespace offsets, and the offsets.
func readClocks(buf []byte) (*Clocks, error) {
	var mono, boot unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return nil, fmt.Errorf("clock_gettime(CLOCK_MONOTONIC): %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		return nil, fmt.Errorf("clock_gettime(CLOCK_BOOTTIME): %w", err)
	}
	c := &Clocks{Monotonic: time.Duration(mono.Nano()), Boottime: time.Duration(boot.Nano())}
	// timens_offsets is per process (time namespaces apply to a whole
	// process), so the kernel offers it under /proc/self, not per thread.
	for _, p := range []string{threadSelf + "/timens_offsets", "/proc/self/timens_offsets"} {
		b, _, err := readFile(p, buf)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return c, err
		}
		c.Offsets = formatOffsets(b)
		break
	}
	return c, nil
}
