package sandbox

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	// The test binary stands in for nslab: agents re-execute it.
	if IsHidden(os.Args) {
		os.Exit(RunHidden(os.Args))
	}
	if len(os.Args) > 1 && os.Args[1] == probeArg {
		os.Exit(runProbe(os.Args[2:])) // inside a learner's sandbox: confine_linux_test.go
	}
	os.Exit(m.Run())
}

// needRoot skips a privileged test with the reason when not root.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the privileged tests create real namespaces (CI runs as root)")
	}
}

// newEngine starts an engine for a test, with the host fingerprint checked
// when the test ends (registered first, so it runs after engine.Close).
func newEngine(t *testing.T) *Engine {
	t.Helper()
	needRoot(t)
	observeHostFingerprint(t)
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	return eng
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func start(t *testing.T, eng *Engine, spec Spec) *Sandbox {
	t.Helper()
	sb, err := eng.Start(testCtx(t), spec)
	if err != nil {
		t.Fatalf("start %s: %v", FlagString(spec.Flags), err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

func mustIDs(t *testing.T, pid int) IDs {
	t.Helper()
	ids, err := ReadIDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestCloneEachKind: clone with one CLONE_NEW* flag gives the agent a new
// namespace of exactly that kind and shares all the others.
func TestCloneEachKind(t *testing.T) {
	eng := newEngine(t)
	host := eng.HostIDs()
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			sb := start(t, eng, Spec{Flags: k.Flag, Rootless: RootlessNever})
			ids := mustIDs(t, sb.PID())
			for _, o := range Kinds() {
				same := ids[o.ProcName] == host[o.ProcName]
				if o.Name == k.Name && same {
					t.Errorf("%s: agent still in the host's namespace %s", o.Name, ids[o.ProcName])
				}
				if o.Name != k.Name && !same {
					t.Errorf("%s: agent left the host's namespace although only %s was asked", o.Name, k.Name)
				}
			}
			ev := sb.Events(0)
			if len(ev) == 0 || !strings.HasPrefix(ev[0].Syscall, "clone") || !strings.Contains(ev[0].String(), k.FlagName) {
				t.Errorf("first event should be the clone with %s, got %v", k.FlagName, ev)
			}
		})
	}
}

// TestCloneNoFlagsSharesEverything: a child made without CLONE_NEW* flags
// shares every namespace with its parent.
func TestCloneNoFlagsSharesEverything(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Rootless: RootlessNever})
	ids := mustIDs(t, sb.PID())
	for k, v := range eng.HostIDs() {
		if ids[k] != v {
			t.Errorf("%s: %s, host %s", k, ids[k], v)
		}
	}
}

// TestUnshareEachKind: unshare moves the agent itself for most kinds, and
// only *_for_children for pid and time; a user namespace cannot be
// unshared by a multithreaded Go process (EINVAL).
func TestUnshareEachKind(t *testing.T) {
	eng := newEngine(t)
	for _, k := range Kinds() {
		t.Run(k.Name, func(t *testing.T) {
			sb := start(t, eng, Spec{Rootless: RootlessNever})
			before := mustIDs(t, sb.PID())
			pidBefore := sb.PID()
			err := sb.Unshare(testCtx(t), k.Flag)
			if k.Flag == CloneNewUser {
				if !errors.Is(err, unix.EINVAL) {
					t.Fatalf("unshare(CLONE_NEWUSER) in Go: want EINVAL, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			after := mustIDs(t, sb.PID())
			if sb.PID() != pidBefore {
				t.Error("unshare must not create a process")
			}
			if k.ChildrenProcName != "" {
				if after[k.ProcName] != before[k.ProcName] {
					t.Errorf("unshare(%s) moved the caller itself", k.FlagName)
				}
				if c, ok := after[k.ChildrenProcName]; ok && c == before[k.ChildrenProcName] {
					t.Errorf("%s did not change", k.ChildrenProcName)
				}
				return
			}
			if after[k.ProcName] == before[k.ProcName] {
				t.Errorf("unshare(%s): %s unchanged", k.FlagName, k.ProcName)
			}
		})
	}
}

// TestUnsharePIDChildIsPID1: after unshare(CLONE_NEWPID) the agent keeps
// its PID, and its first child is PID 1 of the new namespace.
func TestUnsharePIDChildIsPID1(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Rootless: RootlessNever})
	ctx := testCtx(t)
	if err := sb.Unshare(ctx, CloneNewPID); err != nil {
		t.Fatal(err)
	}
	ids := mustIDs(t, sb.PID())
	if _, ok := ids["pid_for_children"]; ok {
		t.Log("kernel shows pid_for_children before the first child (older kernels do)")
	}
	child, err := sb.ObserveChild(ctx, []View{ViewIDs})
	if err != nil {
		t.Fatal(err)
	}
	if child.PID != 1 {
		t.Errorf("first child after unshare(CLONE_NEWPID) sees itself as PID %d, want 1", child.PID)
	}
	if child.IDs["pid"] == eng.HostIDs()["pid"] {
		t.Error("child is in the host's PID namespace")
	}
}

// TestSetnsNstype: the nstype check — right kind joins, a wrong kind is
// EINVAL, 0 joins without checking.
func TestSetnsNstype(t *testing.T) {
	eng := newEngine(t)
	target := start(t, eng, Spec{Flags: CloneNewUTS | CloneNewNet, Rootless: RootlessNever})
	ctx := testCtx(t)
	if err := target.SetHostname(ctx, "target"); err != nil {
		t.Fatal(err)
	}
	tids := mustIDs(t, target.PID())

	j1 := start(t, eng, Spec{Rootless: RootlessNever})
	if err := j1.Setns(ctx, target.PID(), "uts", CloneNewNet); !errors.Is(err, unix.EINVAL) {
		t.Errorf("wrong nstype: want EINVAL, got %v", err)
	}
	if mustIDs(t, j1.PID())["uts"] == tids["uts"] {
		t.Error("a failed setns joined anyway")
	}
	last := j1.Events(0)
	if s := last[len(last)-1].String(); !strings.Contains(s, "setns(") || !strings.Contains(s, "CLONE_NEWNET) = -1 EINVAL") {
		t.Errorf("trace: %q", s)
	}
	if err := j1.Setns(ctx, target.PID(), "uts", CloneNewUTS); err != nil {
		t.Fatal(err)
	}
	snap, err := j1.Observe(ctx, []View{ViewUTS})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Hostname != "target" || mustIDs(t, j1.PID())["uts"] != tids["uts"] {
		t.Errorf("after setns(uts) the joiner sees %q", snap.Hostname)
	}

	j2 := start(t, eng, Spec{Rootless: RootlessNever})
	if err := j2.Setns(ctx, target.PID(), "net", 0); err != nil {
		t.Fatalf("nstype 0: %v", err)
	}
	if mustIDs(t, j2.PID())["net"] != tids["net"] {
		t.Error("nstype 0 did not join")
	}
}

// TestSetnsPIDOnlyChildren: joining a PID namespace changes only
// pid_for_children; a child of the joiner is inside.
func TestSetnsPIDOnlyChildren(t *testing.T) {
	eng := newEngine(t)
	target := start(t, eng, Spec{Flags: CloneNewPID | CloneNewNS, Rootless: RootlessNever})
	j := start(t, eng, Spec{Rootless: RootlessNever})
	ctx := testCtx(t)
	before := mustIDs(t, j.PID())
	if err := j.Setns(ctx, target.PID(), "pid", CloneNewPID); err != nil {
		t.Fatal(err)
	}
	after := mustIDs(t, j.PID())
	if after["pid"] != before["pid"] {
		t.Error("setns(pid) moved the caller itself")
	}
	if after["pid_for_children"] != mustIDs(t, target.PID())["pid"] {
		t.Error("pid_for_children is not the target's PID namespace")
	}
	child, err := j.ObserveChild(ctx, []View{ViewIDs})
	if err != nil {
		t.Fatal(err)
	}
	if child.PID == 1 || child.PID == 0 {
		t.Errorf("a child joining an existing PID namespace gets the next free PID, not %d", child.PID)
	}
}

// TestSetnsUserFromGoIsEINVAL: the kernel refuses a multithreaded caller.
func TestSetnsUserFromGoIsEINVAL(t *testing.T) {
	eng := newEngine(t)
	target := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessAlways})
	j := start(t, eng, Spec{Rootless: RootlessNever})
	err := j.Setns(testCtx(t), target.PID(), "user", CloneNewUser)
	if !errors.Is(err, unix.EINVAL) {
		t.Fatalf("want EINVAL, got %v", err)
	}
}

// TestActionsRefusedInHostNamespaces: hostname, mounts, links and IPC are
// never changed in a namespace shared with the host.
func TestActionsRefusedInHostNamespaces(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Rootless: RootlessNever})
	ctx := testCtx(t)
	hn, _ := os.Hostname()
	checks := map[string]error{
		"sethostname": sb.SetHostname(ctx, "pwned"),
		"domainname":  sb.SetDomainname(ctx, "pwned"),
		"mount":       sb.Mount(ctx, "tmpfs", "/mnt"),
		"umount":      sb.Unmount(ctx, "/mnt"),
		"linkup":      sb.LinkUp(ctx, "lo"),
	}
	_, ipcErr := sb.CreateIPC(ctx, "/nslab-test")
	checks["ipc"] = ipcErr
	_, vethErr := sb.AddVeth(ctx)
	checks["veth"] = vethErr
	for op, err := range checks {
		if !errors.Is(err, ErrSameNamespace) {
			t.Errorf("%s in host namespaces: want ErrSameNamespace, got %v", op, err)
		}
	}
	if now, _ := os.Hostname(); now != hn {
		t.Fatalf("HOST RENAMED: %q -> %q", hn, now)
	}
}

// TestBadInputRefusedBeforeSyscall: learner-typed values are validated.
func TestBadInputRefusedBeforeSyscall(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewUTS | CloneNewNS, Rootless: RootlessNever})
	ctx := testCtx(t)
	for _, name := range []string{"", strings.Repeat("a", 65), "a b", "-x", "x;reboot", "höst"} {
		if err := sb.SetHostname(ctx, name); !errors.Is(err, ErrBadInput) {
			t.Errorf("hostname %q: want ErrBadInput, got %v", name, err)
		}
	}
	for _, p := range []string{"", "mnt", "/", "/proc/sys", "/mnt/../etc", "/sys"} {
		if err := sb.Mount(ctx, "tmpfs", p); !errors.Is(err, ErrBadInput) {
			t.Errorf("mount target %q: want ErrBadInput, got %v", p, err)
		}
	}
	if err := sb.Mount(ctx, "ext4", "/mnt"); !errors.Is(err, ErrBadInput) {
		t.Errorf("fstype ext4: want ErrBadInput, got %v", err)
	}
	if err := sb.Unshare(ctx, 0x1); !errors.Is(err, ErrBadInput) {
		t.Errorf("unshare of a non-namespace flag: want ErrBadInput, got %v", err)
	}
	if _, err := eng.Start(ctx, Spec{Flags: unix.CLONE_THREAD}); !errors.Is(err, ErrBadInput) {
		t.Errorf("start with CLONE_THREAD: want ErrBadInput, got %v", err)
	}
}

// TestHostnameInsideOnly: the sandbox's hostname changes, the host's not.
func TestHostnameInsideOnly(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessNever})
	ctx := testCtx(t)
	hostBefore, _ := os.Hostname()
	if err := sb.SetHostname(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetDomainname(ctx, "nslab.test"); err != nil {
		t.Fatal(err)
	}
	snap, err := sb.Observe(ctx, []View{ViewUTS})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Hostname != "lab" || snap.Domainname != "nslab.test" {
		t.Errorf("sandbox sees %q/%q", snap.Hostname, snap.Domainname)
	}
	if h, _ := os.Hostname(); h != hostBefore {
		t.Fatalf("host hostname changed to %q", h)
	}
}

// TestPropagationRegression: on a host whose / is shared (systemd), a mount
// made in a sandbox must not appear on the host. This machine's / is
// private, so the test re-executes itself in a mount namespace whose / it
// makes recursively shared, and plays "host" there.
func TestPropagationRegression(t *testing.T) {
	needRoot(t)
	if os.Getenv("NSLAB_TEST_SHARED_HOST") == "1" {
		propagationChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPropagationRegression$", "-test.v")
	cmd.Env = append(os.Environ(), "NSLAB_TEST_SHARED_HOST=1")
	// Unshareflags (not Cloneflags): Go makes / private in the child
	// before exec, so the shared-propagation set-up below stays in there.
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PROPAGATION-OK") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func propagationChild(t *testing.T) {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		t.Fatalf("make / rshared in the test namespace: %v", err)
	}
	mounted := func(target string) bool {
		b, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) > 4 && f[4] == target {
				return true
			}
		}
		return false
	}
	if mounted("/mnt") {
		t.Skip("/mnt is already a mount point here")
	}
	// Control: without nslab's rprivate, a clone(CLONE_NEWNS) child's mount
	// does propagate back. If it did not, this test could not see a leak.
	ctl := exec.Command("/bin/sh", "-c", "mount -t tmpfs nslab-ctl /mnt")
	ctl.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	if out, err := ctl.CombinedOutput(); err != nil {
		t.Fatalf("control mount: %v %s", err, out)
	}
	if !mounted("/mnt") {
		t.Fatal("control: a shared / did not propagate a child's mount; the test cannot detect a leak")
	}
	if err := unix.Unmount("/mnt", 0); err != nil {
		t.Fatal(err)
	}

	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := testCtx(t)
	sb, err := eng.Start(ctx, Spec{Flags: CloneNewNS, Rootless: RootlessNever})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Mount(ctx, "tmpfs", "/mnt"); err != nil {
		t.Fatal(err)
	}
	snap, err := sb.Observe(ctx, []View{ViewMount})
	if err != nil {
		t.Fatal(err)
	}
	inside := false
	for _, m := range snap.Mounts {
		if m.Mountpoint == "/mnt" && m.FSType == "tmpfs" {
			inside = true
		}
	}
	if !inside {
		t.Fatal("the sandbox does not see its own tmpfs")
	}
	if mounted("/mnt") {
		t.Fatal("LEAK: the sandbox's tmpfs appeared on the shared host")
	}
	sb.Close()
	t.Log("PROPAGATION-OK")
}

// TestPIDNamespace: the agent is PID 1 inside and another PID outside;
// orphans are re-parented to it; when it dies the namespace's processes die.
func TestPIDNamespace(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewPID | CloneNewNS, Rootless: RootlessNever})
	ctx := testCtx(t)
	if sb.InnerPID() != 1 || sb.PID() == 1 {
		t.Fatalf("inner PID %d, host PID %d", sb.InnerPID(), sb.PID())
	}
	if _, err := sb.Spawn(ctx, 3); err != nil {
		t.Fatal(err)
	}
	pids, err := sb.Orphan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	grandchild := pids[1]
	var snap Snapshot
	found, zombies := false, 0
	// The orphan maker exits on its own; PID 1 reaps it on SIGCHLD, so poll
	// (bounded) until the re-parenting shows and no zombie is left.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && (!found || zombies > 0); time.Sleep(20 * time.Millisecond) {
		snap, err = sb.Observe(ctx, []View{ViewPIDs})
		if err != nil {
			t.Fatal(err)
		}
		found, zombies = false, 0
		for _, p := range snap.Procs {
			if p.PID == grandchild && p.PPID == 1 {
				found = true
			}
			if p.State == "Z" {
				zombies++
			}
		}
	}
	if !found {
		t.Errorf("orphan %d not re-parented to PID 1: %+v", grandchild, snap.Procs)
	}
	for _, p := range snap.Procs {
		if p.State == "Z" {
			t.Errorf("zombie left unreaped by PID 1: %+v", p)
		}
	}
	if len(snap.Procs) < 5 {
		t.Errorf("want agent + 3 idle + orphan inside, got %d", len(snap.Procs))
	}
	pidns := mustIDs(t, sb.PID())["pid"]
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	var left []Proc
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left, _ = ObserveProcs(pidns); len(left) == 0 {
			break
		}
	}
	if len(left) != 0 {
		t.Errorf("processes survived their PID 1: %+v", left)
	}
}

// TestVethPingAndCleanup: a veth pair to the host carries a ping, and the
// host end is gone after Close.
func TestVethPingAndCleanup(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewNet, Rootless: RootlessNever})
	ctx := testCtx(t)
	snap, err := sb.Observe(ctx, []View{ViewNet})
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Links) != 1 || snap.Links[0].Name != "lo" || snap.Links[0].State == "UP" {
		t.Errorf("a new network namespace has only lo, down: %+v", snap.Links)
	}
	v, err := sb.AddVeth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(v.HostName); err != nil {
		t.Fatalf("host end missing: %v", err)
	}
	if _, err := sb.Ping(ctx, v.HostIP()); err != nil {
		t.Errorf("ping host across veth: %v", err)
	}
	if _, err := sb.Ping(ctx, "127.0.0.1"); err != nil {
		t.Errorf("ping lo inside: %v", err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(v.HostName); err == nil {
		t.Error("host veth end left after Close")
	}
}

// TestIPCInsideOnly: objects made inside a new IPC namespace are not on
// the host.
func TestIPCInsideOnly(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewIPC, Rootless: RootlessNever})
	ctx := testCtx(t)
	if _, err := sb.CreateIPC(ctx, "/nslab-ipc-test"); err != nil {
		t.Fatal(err)
	}
	snap, err := sb.Observe(ctx, []View{ViewIPC})
	if err != nil {
		t.Fatal(err)
	}
	if snap.IPC == nil || len(snap.IPC.ShmSegs) == 0 || len(snap.IPC.MsgQueues) == 0 {
		t.Fatalf("sandbox does not see its objects: %+v", snap.IPC)
	}
	ok, err := MQueueExists("/nslab-ipc-test")
	if err != nil || ok {
		t.Errorf("POSIX queue visible on the host: %v %v", ok, err)
	}
	host := ObserveHost([]View{ViewIPC})
	for _, o := range append(host.IPC.ShmSegs, host.IPC.MsgQueues...) {
		if o.Key == snap.IPC.ShmSegs[0].Key {
			t.Errorf("host sees the sandbox's key %s", o.Key)
		}
	}
}

// TestEnterJoinsEveryNamespace: the shell command runs in all of the
// sandbox's namespaces, user namespace included.
func TestEnterJoinsEveryNamespace(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: AllFlags() &^ CloneNewTime, Rootless: RootlessAlways, Label: "t"})
	if err := sb.SetHostname(testCtx(t), "inside"); err != nil {
		t.Fatal(err)
	}
	cmd, err := sb.ShellCommand("/bin/sh", "-c", `for k in uts ipc mnt net pid user cgroup; do echo "$k $(stat -L -c %i /proc/self/ns/$k)"; done; hostname; echo "PS1=$PS1"`)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	ids := mustIDs(t, sb.PID())
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && ids[f[0]].Ino != 0 {
			if want := ids[f[0]].Ino; f[1] != strconv.FormatUint(want, 10) {
				t.Errorf("%s: shell in %s, sandbox in %d", f[0], f[1], want)
			}
		}
	}
	if !strings.Contains(string(out), "\ninside\n") || !strings.Contains(string(out), "[nslab:t]") {
		t.Errorf("shell output: %s", out)
	}
}

// TestAgentDeathIsAnErrorNotAHang: a killed agent makes the next call fail
// at once with ErrAgent.
func TestAgentDeathIsAnErrorNotAHang(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessNever})
	if err := unix.Kill(sb.PID(), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	var err error
	for time.Since(begin) < 3*time.Second {
		if err = sb.SetHostname(testCtx(t), "x"); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrAgent) {
		t.Fatalf("want ErrAgent, got %v", err)
	}
	if !strings.Contains(err.Error(), "killed") {
		t.Errorf("the error should say how the agent ended: %v", err)
	}
	if d := time.Since(begin); d > 2*time.Second {
		t.Errorf("took %v to notice a dead agent", d)
	}
}

// TestCloseIdempotentAndEngineClosesAll: Close twice is fine; the engine's
// Close closes sandboxes that were never closed.
func TestCloseIdempotentAndEngineClosesAll(t *testing.T) {
	needRoot(t)
	observeHostFingerprint(t)
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	a, err := eng.Start(ctx, Spec{Flags: CloneNewNet | CloneNewPID, Rootless: RootlessNever})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddVeth(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := eng.Start(ctx, Spec{Flags: CloneNewUTS, Rootless: RootlessNever})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	begin := time.Now()
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if err := eng.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 5*time.Second {
		t.Errorf("engine close took %v", d)
	}
	if err := unix.Kill(a.PID(), 0); !errors.Is(err, unix.ESRCH) {
		t.Errorf("agent %d still alive after engine Close: %v", a.PID(), err)
	}
	if _, err := eng.Start(ctx, Spec{}); !errors.Is(err, ErrClosed) {
		t.Errorf("start on a closed engine: %v", err)
	}
	if _, err := a.Spawn(ctx, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("call on a closed sandbox: %v", err)
	}
}

// TestTimeNamespaceOffset: offsets written after unshare(CLONE_NEWTIME)
// shift the clocks of the next child, not of the caller.
func TestTimeNamespaceOffset(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Rootless: RootlessNever})
	ctx := testCtx(t)
	if err := sb.Unshare(ctx, CloneNewTime); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetTimeOffset(ctx, "monotonic", 86400); err != nil {
		t.Fatal(err)
	}
	self, err := sb.Observe(ctx, []View{ViewTime})
	if err != nil {
		t.Fatal(err)
	}
	child, err := sb.ObserveChild(ctx, []View{ViewTime})
	if err != nil {
		t.Fatal(err)
	}
	diff := child.Clocks.Monotonic - self.Clocks.Monotonic
	if diff < 86399*time.Second || diff > 86401*time.Second {
		t.Errorf("child monotonic is %v ahead, want about 24h", diff)
	}
	if err := sb.SetTimeOffset(ctx, "boottime", 5); err == nil {
		t.Error("offsets written after a process entered the time namespace: the kernel should refuse")
	}
}

// TestMapRootToNobody: root inside, nobody outside.
func TestMapRootToNobody(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessAlways, MapRootToNobody: true})
	snap, err := sb.Observe(testCtx(t), []View{ViewUser})
	if err != nil {
		t.Fatal(err)
	}
	if snap.User == nil || snap.User.EUID != 0 {
		t.Fatalf("inside: %+v %v", snap.User, snap.Errs)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(sb.PID()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != nobodyID {
		t.Errorf("outside the agent runs as uid %d, want %d", st.Uid, nobodyID)
	}
	if err := sb.SetHostname(testCtx(t), "rootinside"); err != nil {
		t.Errorf("root inside cannot set the hostname of its own uts namespace: %v", err)
	}
}

// TestEnterFollowsPIDForChildren: after unshare(CLONE_NEWPID) the shell
// goes where the sandbox's children go, as `unshare --pid --fork` would.
func TestEnterFollowsPIDForChildren(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewNS, Rootless: RootlessNever})
	ctx := testCtx(t)
	if err := sb.Unshare(ctx, CloneNewPID); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Spawn(ctx, 1); err != nil { // PID 1 of the new namespace
		t.Fatal(err)
	}
	cmd, err := sb.ShellCommand("/bin/sh", "-c", "stat -L -c %i /proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	want := mustIDs(t, sb.PID())["pid_for_children"].Ino
	if strings.TrimSpace(string(out)) != strconv.FormatUint(want, 10) {
		t.Errorf("shell in pid ns %s, sandbox's children in %d", out, want)
	}
}

// TestEnterRootToNobodySandbox: root entering a sandbox whose root is
// nobody outside becomes root inside (as nsenter does) and keeps its
// capabilities there.
func TestEnterRootToNobodySandbox(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessAlways, MapRootToNobody: true})
	cmd, err := sb.ShellCommand("/bin/sh", "-c", "hostname entered && id -u && hostname")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Fields(string(out))[0] != "0" || !strings.Contains(string(out), "entered") {
		t.Fatalf("%v: %q", err, out)
	}
}

// TestEnterAfterPIDNamespaceDied: when the PID namespace the agent's
// children got has lost its init, the shell falls back to the agent's own.
func TestEnterAfterPIDNamespaceDied(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewUTS, Rootless: RootlessNever})
	ctx := testCtx(t)
	if err := sb.Unshare(ctx, CloneNewPID); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.ObserveChild(ctx, []View{ViewIDs}); err != nil { // PID 1, exits at once
		t.Fatal(err)
	}
	cmd, err := sb.ShellCommand("/bin/sh", "-c", "echo alive")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "alive" {
		t.Fatalf("%v: %q", err, out)
	}
}

// TestAgentIsNamedForLearners: the PID view shows nslab-agent, not "exe".
func TestAgentIsNamedForLearners(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewPID | CloneNewNS, Rootless: RootlessNever})
	if _, err := sb.Spawn(testCtx(t), 1); err != nil {
		t.Fatal(err)
	}
	// The idle child names itself once its runtime started: poll a little.
	names := map[string]bool{}
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end) && !names["nslab-idle"]; time.Sleep(20 * time.Millisecond) {
		snap, err := sb.Observe(testCtx(t), []View{ViewPIDs})
		if err != nil {
			t.Fatal(err)
		}
		names = map[string]bool{}
		for _, p := range snap.Procs {
			names[p.Comm] = true
		}
	}
	if !names["nslab-agent"] || !names["nslab-idle"] {
		t.Errorf("process names inside: %v", names)
	}
}

// TestCloseReapsChildren: an agent that is not PID 1 of a namespace has
// idle children (and a second mount namespace's); Close must leave none of
// them behind, not even a zombie waiting for the host's init to reap it
// (a zombie still shows the sandbox's user namespace).
func TestCloseReapsChildren(t *testing.T) {
	eng := newEngine(t)
	sb := start(t, eng, Spec{Flags: CloneNewNS, Rootless: RootlessNever})
	ctx := testCtx(t)
	pids, err := sb.Spawn(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	other, err := sb.SpawnMountNS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pids = append(pids, other)
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, 0); !errors.Is(err, unix.ESRCH) {
			st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			t.Errorf("child %d of the agent outlived Close: %v %s", pid, err, st)
		}
	}
}
