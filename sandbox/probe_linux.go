package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Time bounds of ProbeMachine: the whole probe, and one throwaway child.
// A child that execs and exits takes a few milliseconds; these only stop a
// wedged machine from hanging the doctor.
const (
	probeBudget       = 15 * time.Second
	probeChildTimeout = 5 * time.Second
	probeParallel     = 8 // children at once
)

// ProbeMachine gathers the facts about this machine that decide which
// lessons can run. It checks by doing where it can: for every namespace
// kind it starts a throwaway copy of the binary (/proc/self/exe
// __nslab_true) with that kind's clone flag, and again inside a new user
// namespace with root mapped to the caller. It never fails: what it cannot
// find out is recorded in Machine.Problems. It returns within the context's
// deadline, and within probeBudget in any case.
func ProbeMachine(ctx context.Context) Machine {
	ctx, cancel := context.WithTimeout(ctx, probeBudget)
	defer cancel()

	m := Machine{
		EUID:    os.Geteuid(),
		EGID:    os.Getegid(),
		Seccomp: SeccompUnknown,
		Sysctls: map[string]int64{},
		Cgroup:  CgroupUnknown,
	}
	problem := func(err error) { m.Problems = append(m.Problems, err.Error()) }

	if b, err := os.ReadFile("/proc/self/status"); err != nil {
		problem(err)
	} else if st, err := parseStatus(b); err != nil {
		problem(fmt.Errorf("/proc/self/status: %w", err))
	} else {
		m.CapsKnown = st.haveCapEff
		m.CapEff, m.CapBnd = st.CapEff, st.CapBnd
		m.NoNewPrivs, m.Seccomp = st.NoNewPrivs, st.Seccomp
		if !st.haveCapEff {
			problem(fmt.Errorf("/proc/self/status: no CapEff line: %w", ErrParse))
		}
	}
	m.AppArmor = probeAppArmorLabel()

	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		problem(fmt.Errorf("uname: %w", err))
	} else {
		m.KernelRelease = unix.ByteSliceToString(u.Release[:])
		if v, err := ParseKernelRelease(m.KernelRelease); err != nil {
			problem(err)
		} else {
			m.Kernel = v
		}
	}

	// A sysctl is one number in a /proc/sys file. github.com/prometheus/procfs
	// reads it too, but linking procfs costs every start of this binary
	// (every agent) about half a millisecond of package init: it compiles
	// its regular expressions then.
	for _, name := range ProbeSysctls() {
		b, err := os.ReadFile(SysctlPath(name))
		if errors.Is(err, os.ErrNotExist) {
			continue // absent is a fact, not a problem
		}
		if err != nil {
			problem(fmt.Errorf("sysctl %s: %w", name, err))
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			problem(fmt.Errorf("sysctl %s: %w", name, err))
			continue
		}
		m.Sysctls[name] = v
	}

	hints := ContainerHints{
		DockerEnv:       probeExists("/.dockerenv"),
		ContainerEnv:    probeExists("/run/.containerenv"),
		ContainerEnvVar: os.Getenv("container"),
		Kubernetes:      os.Getenv("KUBERNETES_SERVICE_HOST") != "",
	}
	if b, err := os.ReadFile("/proc/1/cgroup"); err == nil {
		hints.Init1Cgroup = string(b) // searched for engines' names, not parsed
	}
	if mounts, err := readMounts("/proc/self/mountinfo"); err != nil {
		problem(err)
	} else {
		for _, mi := range mounts {
			switch mi.Mountpoint {
			case "/":
				// Several mounts can be stacked on /: the last one listed
				// is the one on top, the one processes see.
				hints.RootFSType = mi.FSType
				m.RootPropagation = PropagationOf(mi.Propagation)
			case "/etc/hostname":
				hints.HostnameMount = true
			}
		}
	}
	m.Container = ClassifyContainer(hints)

	if layout, _, err := CgroupLayout(); err != nil {
		problem(err)
	} else {
		m.Cgroup = layout
	}

	if exe, err := os.Executable(); err != nil {
		m.ExeErr = err.Error()
	} else {
		m.Exe = exe
	}
	if f, err := os.Open("/proc/self/exe"); err != nil {
		m.ExeErr = strings.TrimPrefix(strings.TrimSpace(m.ExeErr+"; "+err.Error()), "; ")
	} else {
		f.Close()
	}

	m.Baseline = probeClone(ctx, 0, false, m.EUID, m.EGID)
	baselineTimedOut := m.Baseline.Tried && !m.Baseline.OK && m.Baseline.Errno == ""
	for _, k := range Kinds() {
		m.Probes = append(m.Probes, KindProbe{Kind: k.Name, Flag: k.Flag})
	}
	if baselineTimedOut {
		// A binary that cannot even start a plain child would only burn
		// the budget fifteen more times.
		for i := range m.Probes {
			m.Probes[i].Direct = ProbeAttempt{Err: "skipped: " + m.Baseline.Err}
			m.Probes[i].Rootless = m.Probes[i].Direct
		}
		return m
	}
	// The children run a few at a time: each one is mostly waiting (a
	// race-enabled binary takes a second just to start), and the doctor
	// should answer in well under its budget.
	var wg sync.WaitGroup
	sem := make(chan struct{}, probeParallel)
	try := func(dst *ProbeAttempt, flags uintptr, mapRoot bool) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			*dst = probeClone(ctx, flags, mapRoot, m.EUID, m.EGID)
		}()
	}
	for i := range m.Probes {
		p := &m.Probes[i]
		if p.Flag == CloneNewUser {
			// A user namespace is the rootless path itself; map root to the
			// caller as a learner's lesson would. Rootless is copied below.
			try(&p.Direct, p.Flag, true)
			continue
		}
		try(&p.Direct, p.Flag, false)
		try(&p.Rootless, p.Flag|CloneNewUser, true)
	}
	wg.Wait()
	for i := range m.Probes {
		if m.Probes[i].Flag == CloneNewUser {
			m.Probes[i].Rootless = m.Probes[i].Direct
		}
	}
	return m
}

// probeClone starts /proc/self/exe __nslab_true in new namespaces (flags)
// and waits for it to exit. The child does nothing in them, so nothing of
// it can outlive it: its namespaces die with it.
func probeClone(ctx context.Context, flags uintptr, mapRoot bool, uid, gid int) ProbeAttempt {
	if err := ctx.Err(); err != nil {
		return ProbeAttempt{Err: "not tried: " + err.Error()}
	}
	cctx, cancel := context.WithTimeout(ctx, probeChildTimeout)
	defer cancel()

	cmd := exec.CommandContext(cctx, "/proc/self/exe", hiddenTrue)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: flags,
		// Pdeathsig fires when the parent *thread* exits; the thread is
		// locked below until the child is reaped.
		Pdeathsig: syscall.SIGKILL,
	}
	if mapRoot {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
		// An unprivileged writer of gid_map must deny setgroups first.
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	cmd.WaitDelay = time.Second

	runtime.LockOSThread()
	err := cmd.Run()
	runtime.UnlockOSThread()

	a := ProbeAttempt{Tried: true}
	if err == nil {
		a.OK = true
		return a
	}
	a.Err = err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		a.Errno = unix.ErrnoName(errno)
		if a.Errno == "" {
			a.Errno = "errno " + strconv.Itoa(int(errno))
		}
		return a
	}
	if cctx.Err() != nil {
		a.Err = fmt.Sprintf("timed out after %s", probeChildTimeout)
	}
	return a
}

// probeAppArmorLabel reads this process's AppArmor label; "" when AppArmor
// is not active. /proc/self/attr/current is shared by every LSM (SELinux
// writes its context there), so it counts only when AppArmor is enabled.
func probeAppArmorLabel() string {
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(strings.TrimRight(string(b), "\x00\n"))
	}
	if l := read("/proc/self/attr/apparmor/current"); l != "" {
		return l
	}
	if read("/sys/module/apparmor/parameters/enabled") == "Y" {
		return read("/proc/self/attr/current")
	}
	return ""
}

func probeExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
