package sandbox

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// This file lists the processes of a PID namespace from the host's /proc:
// who is a member, and the cheap reads of each one's status and cmdline.

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
