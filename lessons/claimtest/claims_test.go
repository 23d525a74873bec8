package claimtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// TestMain keeps the main thread to itself: a test that moves its thread
// into a namespace must never run on the thread group leader, whose
// /proc/PID/ns is what the host comparison (and every reader of
// /proc/PID) sees, and which Go never ends.
func TestMain(m *testing.M) {
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	runtime.LockOSThread()
	os.Exit(m.Run())
}

// privileged is the start of every claim test that creates namespaces:
// root, and the host compared before and after.
func privileged(t *testing.T) {
	t.Helper()
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
}

// onOwnThread runs f on a locked OS thread that is never unlocked: the
// thread ends with the goroutine, and with it any namespace f moved it to,
// so the rest of the test process never sees it.
func onOwnThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// TestMain holds the main thread; should that ever fail, do
			// not move the leader.
			errc <- errors.New("locked onto the main thread: refusing to change its namespaces")
			return
		}
		errc <- f()
	}()
	return <-errc
}

func threads(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	t.Fatal("no Threads: line in /proc/self/status")
	return 0
}

func nsOf(path string) (string, error) { return os.Readlink(path) }

// TestClaimUnshareNewNSMultithreaded: unshare(2), CLONE_NEWNS implies
// CLONE_FS, so a thread of a multithreaded process gets a mount namespace
// of its own with one call; the other threads keep theirs.
func TestClaimUnshareNewNSMultithreaded(t *testing.T) {
	privileged(t)
	if n := threads(t); n < 2 {
		t.Fatalf("the test process has %d thread(s): not a multithreaded caller", n)
	}
	host, err := nsOf("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	err = onOwnThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return fmt.Errorf("unshare(CLONE_NEWNS) in a multithreaded process: %w", err)
		}
		mine, err := nsOf("/proc/thread-self/ns/mnt")
		if err != nil {
			return err
		}
		if mine == host {
			return fmt.Errorf("unshare(CLONE_NEWNS) = 0 but the thread is still in %s", mine)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if now, _ := nsOf("/proc/self/ns/mnt"); now != host {
		t.Errorf("the main thread moved too: %s, was %s", now, host)
	}
}

// TestClaimUnshareNewUserMultithreaded: unshare(2), CLONE_NEWUSER implies
// CLONE_THREAD, so a multithreaded caller gets EINVAL, while a
// single-threaded one (util-linux unshare, a C program) succeeds.
func TestClaimUnshareNewUserMultithreaded(t *testing.T) {
	privileged(t)
	if n := threads(t); n < 2 {
		t.Fatalf("the test process has %d thread(s): not a multithreaded caller", n)
	}
	err := onOwnThread(func() error { return unix.Unshare(unix.CLONE_NEWUSER) })
	if !errors.Is(err, unix.EINVAL) {
		t.Errorf("unshare(CLONE_NEWUSER) in a multithreaded process: %v, want EINVAL", err)
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare(1) for the single-threaded contrast")
	}
	if out, err := exec.Command("unshare", "--user", "true").CombinedOutput(); err != nil {
		t.Errorf("a single-threaded unshare --user failed: %v %s", err, out)
	}
}

// TestClaimSetnsNstype: setns(2) with nstype 0 joins whatever namespace
// the fd refers to; a nonzero nstype that does not match gives EINVAL.
func TestClaimSetnsNstype(t *testing.T) {
	privileged(t)
	// A UTS namespace held only by an fd: made on a thread that then ends.
	var fd int
	err := onOwnThread(func() error {
		if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
			return err
		}
		var err error
		fd, err = unix.Open("/proc/thread-self/ns/uts", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("uts:[%d]", st.Ino)
	host, _ := nsOf("/proc/self/ns/uts")
	if want == host {
		t.Fatalf("the fd names the host's UTS namespace %s", host)
	}
	err = onOwnThread(func() error {
		for _, wrong := range []int{unix.CLONE_NEWNET, unix.CLONE_NEWIPC, unix.CLONE_NEWNS} {
			if err := unix.Setns(fd, wrong); !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("setns(uts fd, %s) = %v, want EINVAL", sandbox.FlagString(uintptr(wrong)), err)
			}
		}
		if now, _ := nsOf("/proc/thread-self/ns/uts"); now != host {
			return fmt.Errorf("a refused setns moved the thread to %s", now)
		}
		if err := unix.Setns(fd, 0); err != nil {
			return fmt.Errorf("setns(uts fd, 0): %w", err)
		}
		if now, _ := nsOf("/proc/thread-self/ns/uts"); now != want {
			return fmt.Errorf("after setns(fd, 0) the thread is in %s, want %s", now, want)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// mapsEnv marks the copy of this binary TestClaimGidMapNeedsSetgroupsDeny
// runs as nobody.
const mapsEnv = "NSLAB_CLAIM_MAPS_AS_NOBODY"

// TestClaimGidMapNeedsSetgroupsDeny: user_namespaces(7), an unprivileged
// process may write gid_map only once setgroups is "deny"; uid_map needs
// no such step. The writer is nobody, owner of the user namespace.
func TestClaimGidMapNeedsSetgroupsDeny(t *testing.T) {
	if os.Getenv(mapsEnv) != "" {
		t.Skip("this is the copy run as nobody")
	}
	privileged(t)
	probe := exec.Command("unshare", "--user", "true")
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("this kernel refuses user namespaces to nobody: %v %s", err, out)
	}
	out, err := sandboxtest.AsNobody(t, "TestClaimMapsChild", mapsEnv+"=1")
	if err != nil || !strings.Contains(out, "--- PASS: TestClaimMapsChild") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	t.Log(out)
}

// TestClaimMapsChild is the unprivileged half of
// TestClaimGidMapNeedsSetgroupsDeny.
func TestClaimMapsChild(t *testing.T) {
	if os.Getenv(mapsEnv) == "" {
		t.Skip("run by TestClaimGidMapNeedsSetgroupsDeny as nobody")
	}
	if os.Geteuid() == 0 {
		t.Fatal("the maps child runs as root")
	}
	// A process in a new user namespace with no maps yet.
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	dir := fmt.Sprintf("/proc/%d/", cmd.Process.Pid)
	line := fmt.Sprintf("0 %d 1", os.Getegid())
	write := func(file, s string) error { return os.WriteFile(dir+file, []byte(s), 0) }
	if err := write("gid_map", line); !errors.Is(err, unix.EPERM) {
		t.Errorf("gid_map before setgroups deny: %v, want EPERM", err)
	}
	if err := write("uid_map", fmt.Sprintf("0 %d 1", os.Geteuid())); err != nil {
		t.Errorf("uid_map with setgroups still allow: %v, want success", err)
	}
	if err := write("setgroups", "deny"); err != nil {
		t.Fatalf("setgroups deny: %v", err)
	}
	if err := write("gid_map", line); err != nil {
		t.Errorf("gid_map after setgroups deny: %v, want success", err)
	}
	for _, f := range []string{"uid_map", "gid_map", "setgroups"} {
		b, _ := os.ReadFile(dir + f)
		t.Logf("%s: %s", f, strings.TrimSpace(string(b)))
	}
}

// TestClaimTimensOffsetsUntilEntered: time_namespaces(7), timens_offsets
// can be written many times until the first process enters the namespace,
// then a write fails with EACCES. The agent unshares the time namespace
// (the lesson's path), the writes go to its /proc/PID/timens_offsets.
func TestClaimTimensOffsetsUntilEntered(t *testing.T) {
	privileged(t)
	eng := lessontest.Engine(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sb, err := eng.Start(ctx, sandbox.Spec{Flags: sandbox.CloneNewPID | sandbox.CloneNewNS, Label: "claim-time"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if err := sb.Unshare(ctx, sandbox.CloneNewTime); err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("/proc/%d/timens_offsets", sb.PID())
	for _, secs := range []int{1, 2, 3, 86400} {
		if err := sb.SetTimeOffset(ctx, "monotonic", secs); err != nil {
			t.Fatalf("write %d before any process entered: %v", secs, err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(strings.Fields(string(b)), " "), fmt.Sprintf("monotonic %d 0", secs)) {
			t.Errorf("after writing %d, %s reads %q", secs, file, b)
		}
	}
	if _, err := sb.ObserveChild(ctx, []sandbox.View{sandbox.ViewIDs}); err != nil {
		t.Fatalf("a child entering: %v", err)
	}
	err = sb.SetTimeOffset(ctx, "monotonic", 5)
	var se *sandbox.SyscallError
	if !errors.As(err, &se) || se.Errno != "EACCES" {
		t.Errorf("write after a process entered: %v, want EACCES", err)
	}
}

// TestClaimOrphanReparenting: pid_namespaces(7), an orphan is reparented
// to the init of the PID namespace of its parent, unless a subreaper in
// that namespace is nearer. The test process is a subreaper in the host's
// PID namespace. An orphan whose parent was inside the sandbox's namespace
// goes to the sandbox's PID 1 (the subreaper outside is not looked at);
// one inside whose parent was outside (nsenter, in the host's namespace)
// goes to the subreaper, not to the sandbox's PID 1.
func TestClaimOrphanReparenting(t *testing.T) {
	privileged(t)
	if _, err := exec.LookPath("nsenter"); err != nil {
		t.Skip("no nsenter(1)")
	}
	// The subreaper attribute belongs to the whole process.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) }()
	eng := lessontest.Engine(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	sb, err := eng.Start(ctx, sandbox.Spec{Flags: sandbox.CloneNewPID, Label: "claim-orphan"})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := sb.IDs()
	if err != nil {
		t.Fatal(err)
	}
	pidns := ids["pid"]
	target := strconv.Itoa(sb.PID())
	var reap []int
	defer func() {
		_ = sb.Close() // its PID 1 ends: the kernel kills the rest
		for _, p := range reap {
			var ws unix.WaitStatus
			_, _ = unix.Wait4(p, &ws, 0, nil)
		}
	}()

	// Case 1: parent (sh) and orphan (sleep) both inside.
	out, err := exec.CommandContext(ctx, "nsenter", "--target", target, "--pid", "sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	inner, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	hostPID, err := hostPIDOf(pidns, inner)
	if err != nil {
		t.Fatal(err)
	}
	waitParent(t, hostPID, sb.PID(), "an orphan whose parent was inside: the sandbox's PID 1")

	// Case 2: the orphan inside, its parent (nsenter) in the host's
	// namespace, killed.
	cmd := exec.CommandContext(ctx, "nsenter", "--target", target, "--pid", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var child int
	if err := lessons.WaitUntil(ctx, 5*time.Second, func() bool {
		child = firstChild(cmd.Process.Pid)
		return child > 0
	}); err != nil {
		t.Fatalf("nsenter started no child: %v", err)
	}
	reap = append(reap, child)
	if ns, _ := sandbox.ReadIDs(child); ns["pid"] != pidns {
		t.Fatalf("nsenter's child is in %s, not the sandbox's %s", ns["pid"].Label("pid"), pidns.Label("pid"))
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	waitParent(t, child, os.Getpid(), "an orphan inside whose parent was outside: the subreaper in the parent's namespace, not the sandbox's PID 1")
}

// hostPIDOf finds the host PID of the process that is inner in pidns.
func hostPIDOf(pidns sandbox.NSID, inner int) (int, error) {
	procs, err := sandbox.ObserveProcs(pidns)
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		if p.PID == inner {
			return p.HostPID, nil
		}
	}
	return 0, fmt.Errorf("no PID %d in %s", inner, pidns.Label("pid"))
}

// firstChild is a child of pid (0 when none yet).
func firstChild(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

// waitParent waits (bounded) until pid's parent, read from the host, is
// want: reparenting happens when the old parent is reaped.
func waitParent(t *testing.T, pid, want int, what string) {
	t.Helper()
	var got int
	err := lessons.WaitUntil(t.Context(), 5*time.Second, func() bool {
		got, _ = lessons.ParentPID(pid)
		return got == want
	})
	if err != nil {
		t.Errorf("%s: PID %d has parent %d, want %d", what, pid, got, want)
	}
}

// TestLessonClaimsNameTheseTests: every claim in the lessons' data that names a
// test names one in this package (claims*_test.go), and every TestClaim
// here is named by a claim.
func TestLessonClaimsNameTheseTests(t *testing.T) {
	files, err := filepath.Glob("claims*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var src []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	here := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(src)))
	re := regexp.MustCompile(`^func (TestClaim\w+)\(`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil && m[1] != "TestClaimMapsChild" {
			here[m[1]] = true
		}
	}
	dirs, err := lessons.Folders(lessons.Content())
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, d := range dirs {
		l, err := lessons.LoadLesson(lessons.Content(), strings.SplitN(d, "-", 2)[1], func() lessons.Logic { return lessons.Logic{} })
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Claims {
			if c.Test == "" {
				continue
			}
			named[c.Test] = true
			if !here[c.Test] {
				t.Errorf("lesson %s: claim %q names %s, which is not in lessons/claimtest", l.ID, c.Rule, c.Test)
			}
		}
	}
	for name := range here {
		if !named[name] {
			t.Errorf("%s demonstrates no claim of any lesson's data", name)
		}
	}
}
