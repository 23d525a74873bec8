package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Child cgroups nslab makes in the cgroup v2 (unified) hierarchy: one per
// sandbox that asks (Spec.ChildCgroup), as a child of nslab's own cgroup.
// The agent is cloned straight into it (clone3 CLONE_INTO_CGROUP), so a
// cgroup namespace it gets at the same clone is rooted there.
//
// The API, for any part of nslab that needs a cgroup of its own:
//
//	CgroupLayout       where the hierarchies are (v2-only, hybrid, v1)
//	NewChildCgroup     mkdir + an fd to clone into + a guard process
//	(*ChildCgroup).Remove   rmdir once empty, bounded; idempotent
//	RemoveCgroupDir    the bounded rmdir the guard uses too
//
// A cgroup is no process: nothing removes it when nslab is SIGKILLed. The
// guard is: a small process of nslab's own binary, outside the cgroup,
// that waits for nslab's end of a pipe to close (the kernel closes it
// however nslab ends) and then removes the directory once it is empty.

// CgroupPrefix starts the name of every cgroup nslab makes, so that tests
// and the doctor can find leftovers under any hierarchy.
const CgroupPrefix = "nslab-"

// ErrNoCgroupV2 says this machine has no cgroup v2 hierarchy nslab can use.
var ErrNoCgroupV2 = errors.New("no cgroup v2 hierarchy mounted at /sys/fs/cgroup or /sys/fs/cgroup/unified")

// cgroupRoot is where the unified hierarchy is mounted on a v2-only and
// on a hybrid machine.
const (
	cgroupRoot        = "/sys/fs/cgroup"
	cgroupUnifiedRoot = "/sys/fs/cgroup/unified"
)

// CgroupLayout classifies /sys/fs/cgroup (CgroupV2, CgroupHybrid, CgroupV1,
// CgroupNone) by the statfs magic of the mounts there, and returns the
// directory of the v2 hierarchy ("" when there is none).
func CgroupLayout() (layout, v2dir string, err error) {
	var root, unified unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &root); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return CgroupNone, "", nil
		}
		return CgroupUnknown, "", fmt.Errorf("statfs %s: %w", cgroupRoot, err)
	}
	// Statfs of an empty mount point reports the parent's type; on a
	// machine without cgroups /sys/fs/cgroup is a plain sysfs dir.
	if root.Type == unix.SYSFS_MAGIC {
		return CgroupNone, "", nil
	}
	if err := unix.Statfs(cgroupUnifiedRoot, &unified); err != nil {
		unified.Type = 0
	}
	layout = ClassifyCgroup(int64(root.Type), int64(unified.Type))
	switch layout {
	case CgroupV2:
		v2dir = cgroupRoot
	case CgroupHybrid:
		v2dir = cgroupUnifiedRoot
	}
	return layout, v2dir, nil
}

// ChildCgroup is a cgroup nslab made under its own v2 cgroup.
type ChildCgroup struct {
	dir   string   // absolute directory, under the v2 mount
	path  string   // its path in the hierarchy, as /proc/PID/cgroup shows it from the host
	file  *os.File // the directory, open: clone3's cgroup argument
	guard *exec.Cmd
	hold  *os.File // nslab's end of the guard's pipe
	done  bool
}

// NewChildCgroup makes a child cgroup named CgroupPrefix+name of the
// calling process's own v2 cgroup, opens it for CLONE_INTO_CGROUP, and
// starts guardExe (nslab's binary) as its guard. events receives the
// mkdirat and openat as made.
func NewChildCgroup(guardExe, name string, events func(Event)) (*ChildCgroup, error) {
	_, v2, err := CgroupLayout()
	if err != nil {
		return nil, err
	}
	if v2 == "" {
		return nil, ErrNoCgroupV2
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read nslab's own cgroup: %w", err)
	}
	own, _, err := parseCgroup(b)
	if err != nil {
		return nil, err
	}
	c := &ChildCgroup{path: filepath.Join(own, CgroupPrefix+name)}
	c.dir = filepath.Join(v2, c.path)
	err = unix.Mkdirat(unix.AT_FDCWD, c.dir, 0o755)
	ev := newEvent("mkdirat", []string{"AT_FDCWD", strArg(c.dir), "0755"}, retOf(err), err)
	ev.Note = "a child of nslab's own cgroup v2 (" + own + "), for the agent to be cloned into"
	events(ev)
	if err != nil {
		return nil, fmt.Errorf("mkdir %s: %w (making a cgroup needs write access to nslab's own cgroup: run as root, or from a cgroup delegated to you)", c.dir, err)
	}
	const oflags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	fd, err := unix.Open(c.dir, oflags, 0)
	events(newEvent("openat", []string{"AT_FDCWD", strArg(c.dir), openFlagsArg(oflags)}, int64(fd), err))
	if err != nil {
		_ = unix.Rmdir(c.dir)
		return nil, fmt.Errorf("open %s: %w", c.dir, err)
	}
	c.file = os.NewFile(uintptr(fd), c.dir)
	if err := c.startGuard(guardExe); err != nil {
		c.file.Close()
		_ = unix.Rmdir(c.dir)
		return nil, err
	}
	return c, nil
}

func retOf(err error) int64 {
	if err != nil {
		return -1
	}
	return 0
}

// startGuard starts the guard: in nslab's cgroup (not the child), in a
// session of its own, with no Pdeathsig, reading a pipe nslab holds.
func (c *ChildCgroup) startGuard(exe string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("cgroup guard pipe: %w", err)
	}
	cmd := exec.Command(exe, hiddenCgroupGuard, c.dir)
	cmd.Env = cleanEnv()
	cmd.Stdin = r
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("start the cgroup guard: %w", err)
	}
	r.Close()
	c.guard, c.hold = cmd, w
	return nil
}

// Dir is the cgroup's directory, Path its path in the hierarchy (what
// /proc/PID/cgroup's "0::" line shows from the host).
func (c *ChildCgroup) Dir() string  { return c.dir }
func (c *ChildCgroup) Path() string { return c.path }

// FD is the open directory, for SysProcAttr.CgroupFD.
func (c *ChildCgroup) FD() int { return int(c.file.Fd()) }

// Remove removes the cgroup once its processes are gone (the caller has
// ended them), within timeout, and ends the guard. Idempotent.
func (c *ChildCgroup) Remove(timeout time.Duration) error {
	if c == nil || c.done {
		return nil
	}
	c.done = true
	c.file.Close()
	err := RemoveCgroupDir(c.dir, timeout)
	// Its pipe closed, the guard finds the directory gone and exits.
	c.hold.Close()
	wait := make(chan error, 1)
	go func() { wait <- c.guard.Wait() }()
	select {
	case <-wait:
	case <-time.After(timeout):
		_ = c.guard.Process.Kill()
		<-wait
	}
	return err
}

// RemoveCgroupDir removes a cgroup directory, waiting while the kernel
// reports it busy (EBUSY: a process, even one being reaped, is still in
// it), up to timeout. A directory already gone is not an error.
func RemoveCgroupDir(dir string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Rmdir(dir)
		switch {
		case err == nil, errors.Is(err, unix.ENOENT):
			return nil
		case !errors.Is(err, unix.EBUSY) || time.Now().After(deadline):
			return fmt.Errorf("remove cgroup %s (%s): %w", dir, cgroupProcs(dir), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cgroupProcs names the processes still in dir, for an error message.
func cgroupProcs(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return err.Error()
	}
	pids := strings.Fields(string(b))
	if len(pids) == 0 {
		return "no process left in it"
	}
	return "processes " + strings.Join(pids, " ") + " still in it"
}

// runCgroupGuard is the guard's main: it waits for nslab's end of its
// stdin to close, then removes dir (empty once the agent, killed by its
// Pdeathsig, is gone). Its limit is generous: a killed agent's children
// may take a moment to be reaped.
func runCgroupGuard(args []string) int {
	if len(args) != 1 || !strings.HasPrefix(filepath.Base(args[0]), CgroupPrefix) {
		os.Stderr.WriteString("nslab: cgroup guard: bad arguments\n")
		return 2
	}
	// A terminal's signals do not reach it (its own session); nslab's
	// end of the pipe closing is the one event that matters.
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	if err := RemoveCgroupDir(args[0], 10*time.Second); err != nil {
		os.Stderr.WriteString("nslab: cgroup guard: " + err.Error() + "\n")
		return 1
	}
	return 0
}

// CgroupName is the name NewChildCgroup gives a sandbox's cgroup: unique
// per process and sandbox.
func CgroupName(pid, seq int) string {
	return strconv.Itoa(pid) + "-" + strconv.Itoa(seq)
}

// startInCgroup makes the sandbox's child cgroup and has attr clone the
// agent into it. A failure is kept as CgroupNote: the lesson shows it,
// the agent starts in nslab's own cgroup.
func (s *Sandbox) startInCgroup(attr *syscall.SysProcAttr) {
	s.eng.mu.Lock()
	s.eng.cgSeq++
	name := CgroupName(os.Getpid(), s.eng.cgSeq)
	s.eng.mu.Unlock()
	cg, err := NewChildCgroup(s.eng.exe, name, s.emit)
	if err != nil {
		s.cgroupNote = "no cgroup of its own: " + err.Error()
		return
	}
	s.cgroup = cg
	attr.UseCgroupFD, attr.CgroupFD = true, cg.FD()
}

// removeCgroup removes the sandbox's child cgroup once its processes are
// gone; Close calls it after the agent is reaped.
func (s *Sandbox) removeCgroup() error {
	if s.cgroup == nil {
		return nil
	}
	return s.cgroup.Remove(3 * time.Second)
}

// Cgroup is the path of the child cgroup the agent was cloned into, in
// the v2 hierarchy as the host sees it ("" without one).
func (s *Sandbox) Cgroup() string {
	if s.cgroup == nil {
		return ""
	}
	return s.cgroup.Path()
}

// CgroupNote says why a sandbox that asked for a child cgroup has none
// ("" when it has one, or did not ask).
func (s *Sandbox) CgroupNote() string { return s.cgroupNote }
