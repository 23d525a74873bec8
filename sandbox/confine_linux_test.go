package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/idrange"
)

// The engine-level tests of a class's confinement: two learners, alice
// (A) and bob (B), each with a confined engine and a uts sandbox. A probe
// (this test binary, copied into A's root and run from a shell entered
// into A, as a learner's command runs) reports what it sees and what the
// kernel lets it do; pure check functions judge the report, and each is
// shown failing on a wrong state: the probe run in B itself, in a root
// sandbox without a user namespace, in one mapping root to nobody.

// probeArg, as the first argument, makes the test binary the probe.
const probeArg = "-nslab-confine-probe"

// probeReport is what the probe saw and was allowed.
type probeReport struct {
	UIDMap    string            `json:"uid_map"`
	Groups    []int             `json:"groups"`
	NS        map[string]uint64 `json:"ns"`     // its own namespaces' inodes
	Procs     int               `json:"procs"`  // processes in its /proc
	PidNS     []uint64          `json:"pid_ns"` // their PID namespaces, where readable
	MountInfo string            `json:"mountinfo"`
	SysV      []string          `json:"sysv_keys"` // keys in /proc/sysvipc/{msg,shm}
	MQueues   []string          `json:"mqueues"`
	Hostname  string            `json:"hostname"`
	// Errno names of what it tried ("" when it worked, "skipped").
	SetHost    string `json:"sethostname"`
	MountDev   string `json:"mount_dev"`
	InitMod    string `json:"init_module"`
	FinitMod   string `json:"finit_module"`
	Sandboxed  bool   `json:"-"`
	Executable string `json:"-"`
}

func errName(err error) string {
	if err == nil {
		return ""
	}
	var en unix.Errno
	if errors.As(err, &en) {
		return unix.ErrnoName(en)
	}
	return err.Error()
}

// runProbe is the probe's main: args are key=value (dev, fstype, target,
// sethost). It prints its report as JSON.
func runProbe(args []string) int {
	opt := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			opt[k] = v
		}
	}
	var r probeReport
	b, _ := os.ReadFile("/proc/self/uid_map")
	r.UIDMap = strings.Join(strings.Fields(string(b)), " ")
	r.Groups, _ = unix.Getgroups()
	r.NS = map[string]uint64{}
	for _, k := range Kinds() {
		var st unix.Stat_t
		if unix.Stat("/proc/self/ns/"+k.ProcName, &st) == nil {
			r.NS[k.ProcName] = st.Ino
		}
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		r.Procs++
		var st unix.Stat_t
		if unix.Stat("/proc/"+e.Name()+"/ns/pid", &st) == nil && !slices.Contains(r.PidNS, st.Ino) {
			r.PidNS = append(r.PidNS, st.Ino)
		}
	}
	mi, _ := os.ReadFile("/proc/self/mountinfo")
	r.MountInfo = string(mi)
	for _, f := range []string{"/proc/sysvipc/msg", "/proc/sysvipc/shm"} {
		b, _ := os.ReadFile(f)
		for i, line := range strings.Split(string(b), "\n") {
			if fs := strings.Fields(line); i > 0 && len(fs) > 0 {
				r.SysV = append(r.SysV, fs[0])
			}
		}
	}
	if ents, err := os.ReadDir("/dev/mqueue"); err == nil {
		for _, e := range ents {
			r.MQueues = append(r.MQueues, e.Name())
		}
	}
	r.SetHost = "skipped"
	if name := opt["sethost"]; name != "" {
		r.SetHost = errName(unix.Sethostname([]byte(name)))
	}
	r.Hostname, _ = os.Hostname()
	r.MountDev = "skipped"
	if dev := opt["dev"]; dev != "" {
		err := unix.Mount(dev, opt["target"], opt["fstype"], 0, "")
		if err == nil {
			_ = unix.Unmount(opt["target"], unix.MNT_DETACH)
		}
		r.MountDev = errName(err)
	}
	// init_module with no image, finit_module with /dev/null: harmless
	// where allowed (the kernel rejects the image), EPERM where the
	// caller lacks CAP_SYS_MODULE in the initial user namespace.
	params, _ := unix.BytePtrFromString("")
	_, _, e1 := unix.Syscall(unix.SYS_INIT_MODULE, 0, 0, uintptr(unsafe.Pointer(params)))
	r.InitMod = errName(errnoOrNil(e1))
	if fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		r.FinitMod = errName(unix.FinitModule(fd, "", 0))
		unix.Close(fd)
	} else {
		r.FinitMod = "open /dev/null: " + errName(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

// hostRoot is the host's root device and file system type, for the probe
// to try to mount.
func hostRoot(t *testing.T) (dev, fstype string) {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		i := slices.Index(fs, "-")
		if len(fs) > 4 && fs[4] == "/" && i > 0 && len(fs) > i+2 {
			return fs[i+2], fs[i+1]
		}
	}
	t.Skip("no root mount in mountinfo")
	return "", ""
}

// learners allocates alice's and bob's ranges as nslab serve does and
// starts a confined engine for each (alice with limits limA), closed when
// the test ends, the host compared after.
func learners(t *testing.T, limA Limits) (a, b *Engine, ra, rb idrange.Range) {
	t.Helper()
	needRoot(t)
	observeHostFingerprint(t)
	alloc, err := idrange.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if ra, err = alloc.For("alice"); err != nil {
		t.Fatal(err)
	}
	if rb, err = alloc.For("bob"); err != nil {
		t.Fatal(err)
	}
	a, err = NewConfinedEngine(Confinement{Name: "alice", IDs: ra, Limits: limA})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeLearner(t, a, ra) })
	b, err = NewConfinedEngine(Confinement{Name: "bob", IDs: rb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeLearner(t, b, rb) })
	return a, b, ra, rb
}

// closeLearner closes a learner's engine and checks that nothing of
// theirs is left: no process of their uids, no cgroup.
func closeLearner(t *testing.T, e *Engine, rg idrange.Range) {
	t.Helper()
	dirs := slices.Clone(e.conf.cg.dirs)
	if err := e.Close(); err != nil {
		t.Errorf("close %s's engine: %v", e.conf.c.Name, err)
	}
	if left := leftovers(rg, dirs, nil); len(left) > 0 {
		t.Errorf("%s's engine closed, still on the host: %v", e.conf.c.Name, left)
	}
}

// utsBox starts a sandbox and performs the uts lesson's calls in it.
func utsBox(t *testing.T, eng *Engine, hostname string) *Sandbox {
	t.Helper()
	sb := start(t, eng, Spec{Label: "uts"})
	ctx := testCtx(t)
	if err := sb.Unshare(ctx, CloneNewUTS); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetHostname(ctx, hostname); err != nil {
		t.Fatal(err)
	}
	return sb
}

// copyProbe puts this test binary into the sandbox's /tmp, written by a
// shell entered into it (the host's root could not own a file there: its
// uid is not mapped in the learner's user namespace), and returns its
// path inside.
func copyProbe(t *testing.T, sb *Sandbox, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	path := dir + "/nslab-probe"
	cmd, err := sb.ShellCommand("/bin/sh", "-c", "cat > "+path+" && chmod 755 "+path)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = src, nil, nil
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy the probe into %s: %v: %s", sb.Label(), err, out)
	}
	return path
}

// probe runs the probe at path from a shell entered into sb.
func probe(t *testing.T, sb *Sandbox, path string, args ...string) probeReport {
	t.Helper()
	cmd, err := sb.ShellCommand(append([]string{path, probeArg}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("probe: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("probe: %v", err)
	}
	var r probeReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("probe report: %v: %q", err, out)
	}
	return r
}

// other is what the probe must not see of the other learner (or host).
type other struct {
	name                string
	pidNS, mntNS, utsNS uint64
	mountDev            string // major:minor of a mount only it has
	sysvKey, mqueue     string
	hostUTS, hostPID    uint64
	hostname            string
}

func nsIno(t *testing.T, pid int, kind string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/ns/%s", pid, kind), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// checkIsolated lists what the probe saw of o: its processes, mounts,
// IPC objects, hostname, or namespaces it shares.
func checkIsolated(r probeReport, o other) []string {
	var bad []string
	for _, ns := range r.PidNS {
		switch ns {
		case o.pidNS:
			bad = append(bad, "sees "+o.name+"'s processes")
		case o.hostPID:
			bad = append(bad, "sees the host's processes")
		}
	}
	if r.Procs == 0 || r.Procs > 16 {
		bad = append(bad, fmt.Sprintf("sees %d processes (a learner's sandbox holds a handful)", r.Procs))
	}
	if r.NS["pid"] == o.pidNS || r.NS["mnt"] == o.mntNS || r.NS["uts"] == o.utsNS || r.NS["uts"] == o.hostUTS || r.NS["pid"] == o.hostPID {
		bad = append(bad, "shares a namespace with "+o.name+" or the host")
	}
	if o.mountDev != "" && strings.Contains(r.MountInfo, " "+o.mountDev+" ") {
		bad = append(bad, "sees "+o.name+"'s mount "+o.mountDev)
	}
	if slices.Contains(r.SysV, o.sysvKey) {
		bad = append(bad, "sees "+o.name+"'s System V IPC key "+o.sysvKey)
	}
	if slices.Contains(r.MQueues, o.mqueue) {
		bad = append(bad, "sees "+o.name+"'s POSIX queue "+o.mqueue)
	}
	if r.Hostname == o.hostname {
		bad = append(bad, "reads "+o.name+"'s hostname")
	}
	return bad
}

// checkCreds lists what is wrong with the probe's identity for a learner
// with range rg: uid_map must map 0.. to rg alone, and no host group may
// remain (an unmapped group shows as the overflow gid).
func checkCreds(r probeReport, rg idrange.Range) []string {
	var bad []string
	if want := fmt.Sprintf("0 %d %d", rg.Base, rg.Count); r.UIDMap != want {
		bad = append(bad, fmt.Sprintf("uid_map is %q, want %q", r.UIDMap, want))
	}
	if rg.Base < 2*idrange.Size {
		bad = append(bad, fmt.Sprintf("range %s starts among the host's own ids", rg))
	}
	if slices.Contains(r.Groups, nobodyID) {
		bad = append(bad, fmt.Sprintf("groups %v hold an unmapped (host) group", r.Groups))
	}
	return bad
}

// checkPowerless lists host powers the probe had: mounting the host's
// root device, loading a module. On a kernel without loadable modules
// (no /proc/modules) init_module and finit_module are ENOSYS for everyone.
func checkPowerless(r probeReport) []string {
	modErr := "EPERM"
	if _, err := os.Stat("/proc/modules"); err != nil {
		modErr = "ENOSYS"
	}
	var bad []string
	if r.MountDev != "EPERM" && r.MountDev != "EACCES" {
		bad = append(bad, fmt.Sprintf("mounting the host's root device: %q, want EPERM", r.MountDev))
	}
	if r.InitMod != "EPERM" && r.InitMod != modErr {
		bad = append(bad, fmt.Sprintf("init_module: %q, want EPERM", r.InitMod))
	}
	if r.FinitMod != "EPERM" && r.FinitMod != modErr {
		bad = append(bad, fmt.Sprintf("finit_module: %q, want EPERM", r.FinitMod))
	}
	return bad
}

// mountDev is the major:minor of the file system at target inside sb.
func mountDev(t *testing.T, sb *Sandbox, target string) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(fmt.Sprintf("/proc/%d/root%s", sb.PID(), target), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
}

func uname(t *testing.T) string {
	t.Helper()
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestConfinedIsolation: alice and bob each perform uts; alice's probe
// sees nothing of bob or the host, maps to her range, and can neither
// mount the host's disk nor load a module; the host keeps its hostname.
// Then the same checks fail on wrong states.
func TestConfinedIsolation(t *testing.T) {
	needRoot(t)
	hostBefore := uname(t)
	// Root with supplementary groups, as a server started by an init
	// system may be: agents and shells inherit them, and a confined one
	// must drop them (unmapped, they would still grant host group access).
	if err := syscall.Setgroups([]int{0, 4}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Setgroups(nil) })
	a, b, ra, _ := learners(t, Limits{})
	dev, fstype := hostRoot(t)
	ctx := testCtx(t)
	sa := utsBox(t, a, "alice-box")
	sb := utsBox(t, b, "bob-box")
	// Bob's own things: a mount, IPC objects.
	if err := sb.Mount(ctx, "tmpfs", "/tmp"); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.CreateIPC(ctx, "/nslab-bob"); err != nil {
		t.Fatal(err)
	}
	bob := other{name: "bob", pidNS: nsIno(t, sb.PID(), "pid"), mntNS: nsIno(t, sb.PID(), "mnt"), utsNS: nsIno(t, sb.PID(), "uts"),
		mountDev: mountDev(t, sb, "/tmp"), sysvKey: strconv.Itoa(0x6e736c62), mqueue: "nslab-bob",
		hostUTS: nsIno(t, os.Getpid(), "uts"), hostPID: nsIno(t, os.Getpid(), "pid"), hostname: "bob-box"}

	ra2 := probe(t, sa, copyProbe(t, sa, "/tmp"), "dev="+dev, "fstype="+fstype, "target=/tmp", "sethost=alice-probe")
	t.Logf("alice's probe: uid_map %q, groups %v, %d processes, sysv %v, mqueues %v, hostname %q; mount %s: %s; init_module %s; finit_module %s",
		ra2.UIDMap, ra2.Groups, ra2.Procs, ra2.SysV, ra2.MQueues, ra2.Hostname, dev, ra2.MountDev, ra2.InitMod, ra2.FinitMod)
	for _, p := range checkIsolated(ra2, bob) {
		t.Errorf("alice %s", p)
	}
	for _, p := range checkCreds(ra2, ra) {
		t.Errorf("alice: %s", p)
	}
	for _, p := range checkPowerless(ra2) {
		t.Errorf("alice: %s", p)
	}
	if ra2.SetHost != "" || ra2.Hostname != "alice-probe" {
		t.Errorf("alice's sethostname in her own UTS namespace: %q, reads %q", ra2.SetHost, ra2.Hostname)
	}
	if h := uname(t); h != hostBefore {
		t.Errorf("the host's hostname is %q, was %q", h, hostBefore)
	}
	if snap, err := sb.Observe(ctx, []View{ViewUTS}); err != nil || snap.Hostname != "bob-box" {
		t.Errorf("bob's hostname after alice's: %q, %v", snap.Hostname, err)
	}
	// The host's view of alice's shell: her range's uid, no host group.
	if st := hostStatus(t, sa.PID()); !strings.HasPrefix(st["Uid"], strconv.Itoa(int(ra.Base))) || st["Groups"] != "" {
		t.Errorf("alice's agent on the host: Uid %q Groups %q, want uid %d and no groups", st["Uid"], st["Groups"], ra.Base)
	}

	// Wrong state 1: the probe in bob's own sandbox sees bob.
	rb := probe(t, sb, copyProbe(t, sb, "/tmp"))
	if got := checkIsolated(rb, bob); !containsAll(got, "processes", "mount", "IPC", "queue", "hostname", "shares") {
		t.Errorf("the isolation check on bob's own probe found only %v", got)
	}
	// Wrong state 2: a root sandbox without a user namespace (an ordinary
	// engine, a mount namespace of its own so the probe's mount stays
	// there): host ids, the host's processes, the power to mount and
	// load modules.
	plain := newEngine(t)
	sp := start(t, plain, Spec{Flags: CloneNewNS, Rootless: RootlessNever})
	self, _ := os.Executable()
	rp := probe(t, sp, self, "dev="+dev, "fstype="+fstype, "target=/mnt")
	if got := checkCreds(rp, ra); len(got) == 0 {
		t.Error("the credentials check passed a sandbox without a user namespace")
	}
	want := 3 // the mount and both module calls
	if _, err := os.Stat("/proc/modules"); err != nil {
		want = 1
		t.Log("this kernel has no loadable modules (no /proc/modules): init_module and finit_module are ENOSYS for root too, so that check cannot fail here")
	}
	if got := checkPowerless(rp); len(got) != want {
		t.Errorf("the host-power check on a root sandbox found %v, want %d problems", got, want)
	}
	if got := checkIsolated(rp, bob); !containsAll(got, "host's processes", "shares") {
		t.Errorf("the isolation check on a root sandbox found only %v", got)
	}
	// Wrong state 3: a user namespace made by root with setgroups denied
	// (root mapped to nobody): root's host groups stay with the shell.
	sn := start(t, plain, Spec{Flags: CloneNewNS, Rootless: RootlessAlways, MapRootToNobody: true})
	if err := sn.Mount(ctx, "tmpfs", "/mnt"); err != nil {
		t.Fatal(err)
	}
	rn := probe(t, sn, copyProbe(t, sn, "/mnt"))
	if got := checkCreds(rn, ra); !containsAll(got, "uid_map", "unmapped") {
		t.Errorf("the credentials check on a root-to-nobody sandbox found only %v (groups %v)", got, rn.Groups)
	}
}

func containsAll(problems []string, words ...string) bool {
	all := strings.Join(problems, "\n")
	for _, w := range words {
		if !strings.Contains(all, w) {
			return false
		}
	}
	return true
}

// hostStatus reads /proc/PID/status from the host as key → value.
func hostStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// leftovers lists what of a learner is still on the host: processes with
// a uid of their range, their cgroup directories, host links.
func leftovers(rg idrange.Range, cgDirs, links []string) []string {
	var left []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					if uid, err := strconv.ParseUint(f[0], 10, 32); err == nil && uid >= uint64(rg.Base) && uid < rg.End() {
						left = append(left, fmt.Sprintf("process %d (uid %d)", pid, uid))
					}
				}
			}
		}
	}
	for _, d := range cgDirs {
		if _, err := os.Stat(d); err == nil {
			left = append(left, "cgroup "+d)
		}
	}
	for _, l := range links {
		if _, err := netlink.LinkByName(l); err == nil {
			left = append(left, "link "+l)
		}
	}
	return left
}

// shellRun runs argv in a shell entered into sb and returns how long it
// took, end to end (the enter binary's start, the joins, the command).
func shellRun(t *testing.T, sb *Sandbox, argv ...string) time.Duration {
	t.Helper()
	cmd, err := sb.ShellCommand(argv...)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		t.Fatalf("%v in %s: %v: %s", argv, sb.Label(), err, out)
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func readInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// cgroupFile finds file in one of the engine's cgroup directories.
func cgroupFile(t *testing.T, e *Engine, file string) string {
	t.Helper()
	for _, d := range e.conf.cg.dirs {
		if _, err := os.Stat(filepath.Join(d, file)); err == nil {
			return filepath.Join(d, file)
		}
	}
	t.Fatalf("no %s in %v", file, e.conf.cg.dirs)
	return ""
}

// TestConfinedForkBomb: a fork bomb in alice's shell fills her pids limit
// and no more; bob still runs a command in his sandbox, and how long that
// takes before and during the bomb is logged. Closing alice's engine then
// leaves nothing of hers: no process with her uids, no cgroup, no link
// (the same check lists all three while she is still there).
func TestConfinedForkBomb(t *testing.T) {
	// RLIMIT_NPROC well above the pids limit: the cgroup must stop it.
	a, b, ra, _ := learners(t, Limits{Pids: 64, NProc: 4096, Memory: 256 << 20})
	ctx := testCtx(t)
	sa := utsBox(t, a, "alice-box")
	sb := utsBox(t, b, "bob-box")
	veth, err := sa.AddVeth(ctx)
	if err != nil {
		t.Fatalf("the engine's half of a veth for alice: %v", err)
	}
	if out, err := sa.Ping(ctx, veth.HostIP()); err != nil {
		t.Errorf("alice pings the host end: %v: %s", err, out)
	}

	const runs = 9
	var before, during []time.Duration
	for i := 0; i < runs; i++ {
		before = append(before, shellRun(t, sb, "/bin/true"))
	}
	bomb, err := sa.ShellCommand("/bin/bash", "-c", "f() { f | f & }; f; sleep 30")
	if err != nil {
		t.Fatal(err)
	}
	bomb.Stdin, bomb.Stdout, bomb.Stderr = nil, nil, nil
	if err := bomb.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- bomb.Wait() }()
	current, max := cgroupFile(t, a, "pids.current"), readInt(t, cgroupFile(t, a, "pids.max"))
	full := false
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if readInt(t, current) >= max {
			full = true
			break
		}
	}
	if !full {
		t.Fatalf("the bomb did not reach alice's pids limit %d (at %d)", max, readInt(t, current))
	}
	for i := 0; i < runs; i++ {
		during = append(during, shellRun(t, sb, "/bin/true"))
		if n := readInt(t, current); n > max {
			t.Errorf("alice has %d processes, over her limit %d", n, max)
		}
	}
	refused := ""
	if b, err := os.ReadFile(cgroupFile(t, a, "pids.events")); err == nil {
		refused = strings.TrimSpace(string(b))
	}
	if n, _ := strconv.Atoi(strings.TrimPrefix(refused, "max ")); n == 0 {
		t.Errorf("pids.events says %q: the cgroup refused no fork", refused)
	}
	t.Logf("bob's `true` in his sandbox: median %v (max %v) before, median %v (max %v) while alice's bomb holds %d of %d pids (pids.events: %s)",
		median(before), slices.Max(before), median(during), slices.Max(during), readInt(t, current), max, refused)
	if median(during) > 2*time.Second {
		t.Errorf("bob waits %v for a command while alice's bomb runs", median(during))
	}

	dirs := slices.Clone(a.conf.cg.dirs)
	links := []string{veth.HostName}
	if left := leftovers(ra, dirs, links); !containsAll(left, "process", "cgroup", "link") {
		t.Errorf("the leftover check on alice's live engine found only %v", left)
	}
	t0 := time.Now()
	if err := a.Close(); err != nil {
		t.Errorf("close alice's engine: %v", err)
	}
	t.Logf("closing alice's engine with the bomb running took %v", time.Since(t0))
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("the bomb's shell did not end with alice's engine")
	}
	if left := leftovers(ra, dirs, links); len(left) > 0 {
		t.Errorf("alice's engine closed, still on the host: %v", left)
	}
	// Bob is untouched.
	if d := shellRun(t, sb, "/bin/true"); d > 2*time.Second {
		t.Errorf("bob after alice left: %v", d)
	}
	_ = ctx
}

// TestConfinedEngineRefuses: the engine confines only with a sound range
// and name.
func TestConfinedEngineRefuses(t *testing.T) {
	needRoot(t)
	for _, c := range []Confinement{
		{Name: "alice", IDs: idrange.Range{Base: 0, Count: 65536}},
		{Name: "alice", IDs: idrange.Range{Base: 1000, Count: 65536}},
		{Name: "alice", IDs: idrange.Range{Base: 1 << 20, Count: 0}},
		{Name: "Alice", IDs: idrange.Range{Base: 1 << 20, Count: 65536}},
		{Name: "../x", IDs: idrange.Range{Base: 1 << 20, Count: 65536}},
	} {
		if e, err := NewConfinedEngine(c); !errors.Is(err, ErrConfine) {
			if e != nil {
				e.Close()
			}
			t.Errorf("NewConfinedEngine(%+v) = %v, want ErrConfine", c, err)
		}
	}
}

// TestConfinedHostViewWithholdsProcesses: the host's process list is not
// shown to a learner; an ordinary engine shows it.
func TestConfinedHostViewWithholdsProcesses(t *testing.T) {
	a, _, _, _ := learners(t, Limits{})
	snap := a.ObserveHost(context.Background(), []View{ViewPIDs, ViewUTS})
	if len(snap.Procs) != 0 || snap.Errs[ViewPIDs] == "" || snap.Hostname == "" {
		t.Errorf("confined host view: %d processes, errs %v, hostname %q", len(snap.Procs), snap.Errs, snap.Hostname)
	}
	plain := newEngine(t)
	if snap := plain.ObserveHost(context.Background(), []View{ViewPIDs}); len(snap.Procs) == 0 {
		t.Error("an ordinary engine's host view lists no process")
	}
}

// TestConfinedNProcFloor: RLIMIT_NPROC holds where the pids limit is
// higher. It counts tasks (threads too) of the learner's uid in the
// sandbox's user namespace: the agent's Go threads take their share, and
// a shell forking 20 sleepers fails with the kernel's EAGAIN. An ordinary
// root sandbox forks all 20.
func TestConfinedNProcFloor(t *testing.T) {
	a, _, ra, _ := learners(t, Limits{Pids: 256, NProc: 24})
	const script = "i=0; while [ $i -lt 20 ]; do sleep 2 & i=$((i+1)); done; echo forked $i"
	run := func(sb *Sandbox) string {
		t.Helper()
		cmd, err := sb.ShellCommand("/bin/sh", "-c", script)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
		out, _ := cmd.CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	out := run(start(t, a, Spec{Label: "nproc"}))
	if strings.Contains(out, "forked 20") || !strings.Contains(strings.ToLower(out), "fork") {
		t.Errorf("with RLIMIT_NPROC 24 (uid %d outside): %q, want a failed fork", ra.Base, out)
	}
	t.Logf("RLIMIT_NPROC 24: the shell said %q", out)
	plain := newEngine(t)
	if out := run(start(t, plain, Spec{Flags: CloneNewPID, Rootless: RootlessNever})); out != "forked 20" {
		t.Errorf("an ordinary root sandbox: %q, want forked 20", out)
	}
}
