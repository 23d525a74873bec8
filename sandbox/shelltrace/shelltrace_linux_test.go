package shelltrace_test

import (
	"bytes"
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
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
	"github.com/nslab/nslab/sandbox/shelltrace"
)

func TestMain(m *testing.M) {
	// The test binary stands in for nslab: agents and shells re-execute it.
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	os.Exit(m.Run())
}

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the privileged tests create real namespaces (CI runs as root)")
	}
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newSandbox starts an engine and one sandbox with spec, both closed at
// the end of the test.
func newSandbox(t testing.TB, spec sandbox.Spec) *sandbox.Sandbox {
	t.Helper()
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	sb, err := eng.Start(ctxFor(t), spec)
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// hostUnchanged compares the host at the very end of the test, after the
// sandboxes' own cleanups.
func hostUnchanged(t *testing.T) {
	t.Helper()
	before := sandboxtest.TakeHostPrint(t)
	t.Cleanup(func() { sandboxtest.UnchangedSince(t, before) })
}

// recorder collects events from the tracer's goroutine.
type recorder struct {
	mu  sync.Mutex
	evs []sandbox.Event
}

func (r *recorder) add(ev sandbox.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) events() []sandbox.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sandbox.Event(nil), r.evs...)
}

// runTraced runs script in a traced /bin/sh inside sb and returns its
// output and the events, once every traced process is gone.
func runTraced(t testing.TB, sb *sandbox.Sandbox, script string) (string, []sandbox.Event) {
	t.Helper()
	cmd, err := sb.ShellCommand("/bin/sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &out, &out
	rec := &recorder{}
	tr, err := shelltrace.Start(cmd, rec.add)
	if err != nil {
		if errors.Is(err, shelltrace.ErrUnavailable) {
			_ = cmd.Wait()
		}
		t.Fatalf("trace: %v", err)
	}
	werr := cmd.Wait()
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range rec.events() {
				t.Logf("event: %s", e)
			}
		}
	})
	select {
	case <-tr.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("tracer still running 10 s after the shell exited")
	}
	if err := tr.Err(); err != nil {
		t.Errorf("tracer: %v", err)
	}
	if werr != nil {
		t.Fatalf("traced shell: %v\n%s", werr, out.String())
	}
	return out.String(), rec.events()
}

// script exercises every traced call a learner would type, in the
// sandbox's own namespaces (the mount happens in its mount namespace).
// perl issues a raw clone(2) and clone3(2) with CLONE_NEWUTS (x86-64
// syscall numbers), as no util-linux tool does, and prints what they
// returned.
const script = `hostname lab
unshare -u true
mount -t tmpfs x /mnt
umount /mnt
nsenter --uts=/proc/self/ns/uts true
unshare -r true
sh -c 'sh -c "hostname gc; hostname lab"'
unshare -U sh -c 'echo "0 0 1" > /proc/self/uid_map' 2>/dev/null
%s
echo untraced-output-ok`

const perlClone = `perl -e '$p = syscall(56, 0x04000011, 0, 0, 0, 0); if ($p == 0) { exit 0 } waitpid($p, 0); print "clone=$p\n"'
perl -e '$a = pack("Q8", 0x04000000, 0, 0, 0, 17, 0, 0, 0); $p = syscall(435, $a, 64); if ($p == 0) { exit 0 } waitpid($p, 0); print "clone3=$p\n"'`

func theScript() string {
	if runtime.GOARCH == "amd64" {
		return fmt.Sprintf(script, perlClone)
	}
	return fmt.Sprintf(script, "true")
}

var (
	// stracePrefix is strace -f's "PID " at the start of a line.
	stracePrefix = regexp.MustCompile(`^\d+ +`)
	// straceFDPath is what strace -y adds after an fd: "3</proc/1/uid_map>".
	straceFDPath = regexp.MustCompile(`<[^>]*>`)
	mapPath      = regexp.MustCompile(`<[^>]*/(uid_map|gid_map|setgroups|timens_offsets)>`)
	// straceAlign is the padding strace puts before " = ".
	straceAlign = regexp.MustCompile(`\) +=`)
	unfinished  = regexp.MustCompile(`^(\d+) +(.*) <unfinished \.\.\.>$`)
	resumed     = regexp.MustCompile(`^(\d+) +<\.\.\. [a-z0-9_]+ resumed>(.*)$`)
	// cloneRet: clone returns the child's pid, which differs from run to run.
	cloneRet = regexp.MustCompile(`^(clone3?\(.*\)) = \d+$`)
)

// nsCalls picks from strace -f -y output the namespace calls the tracer
// promises to report, without pids and fd paths.
func nsCalls(strace string) []string {
	var out []string
	started := map[string]string{} // pid → the first half of an interrupted line
	for _, l := range strings.Split(strace, "\n") {
		l = strings.TrimSpace(l)
		if m := unfinished.FindStringSubmatch(l); m != nil {
			started[m[1]] = m[2]
			continue
		}
		if m := resumed.FindStringSubmatch(l); m != nil {
			l = m[1] + " " + started[m[1]] + m[2]
		}
		l = straceAlign.ReplaceAllString(stracePrefix.ReplaceAllString(l, ""), ") =")
		name, _, _ := strings.Cut(l, "(")
		switch name {
		case "sethostname", "setdomainname", "unshare", "setns", "mount", "umount2", "pivot_root":
		case "clone", "clone3":
			if !strings.Contains(l, "CLONE_NEW") {
				continue
			}
		case "write", "writev", "pwrite64":
			if !mapPath.MatchString(l) {
				continue
			}
		default:
			continue
		}
		out = append(out, normalize(straceFDPath.ReplaceAllString(l, "")))
	}
	return out
}

func normalize(call string) string {
	return cloneRet.ReplaceAllString(call, "$1 = PID")
}

// compareWithStrace returns what differs between the tracer's events and
// strace's view of the same script, in order.
func compareWithStrace(evs []sandbox.Event, strace []string) []string {
	var bad []string
	for i := 0; i < max(len(evs), len(strace)); i++ {
		var got, want string
		if i < len(evs) {
			got = normalize(evs[i].String())
			if !evs[i].Learner {
				got += " (not marked as the learner's)"
			}
		}
		if i < len(strace) {
			want = strace[i]
		}
		if got != want {
			bad = append(bad, fmt.Sprintf("#%d: tracer %q, strace %q", i, got, want))
		}
	}
	return bad
}

// TestCompareWithStraceFails shows that the comparison catches a wrong
// argument, a wrong return value, a missing call and an unmarked event.
func TestCompareWithStraceFails(t *testing.T) {
	strace := nsCalls("12 sethostname(\"lab\", 3) = 0\n13 write(3</proc/13/uid_map>, \"0 0 1\", 5) = 5\n14 write(1</dev/pts/0>, \"x\", 1) = 1\n")
	if len(strace) != 2 {
		t.Fatalf("strace lines: %q", strace)
	}
	good := []sandbox.Event{
		{Syscall: "sethostname", Args: []string{`"lab"`, "3"}, Learner: true},
		{Syscall: "write", Args: []string{"3", `"0 0 1"`, "5"}, Ret: 5, Learner: true},
	}
	if bad := compareWithStrace(good, strace); len(bad) != 0 {
		t.Fatalf("equal views differ: %v", bad)
	}
	wrongArg := append([]sandbox.Event(nil), good...)
	wrongArg[0].Args = []string{`"lab"`, "4"}
	wrongRet := append([]sandbox.Event(nil), good...)
	wrongRet[1].Ret = 4
	unmarked := append([]sandbox.Event(nil), good...)
	unmarked[0].Learner = false
	for name, evs := range map[string][]sandbox.Event{
		"wrong arg": wrongArg, "wrong return": wrongRet, "missing": good[:1], "unmarked": unmarked,
		"errno": {good[0], {Syscall: "write", Args: good[1].Args, Ret: -1, Errno: "EPERM", Learner: true}},
	} {
		if bad := compareWithStrace(evs, strace); len(bad) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
}

// TestTracedShellAgreesWithStrace runs the script in a traced shell, and
// again under strace -f in an untraced shell of a second sandbox like the
// first: the namespace calls must be the same, with the same arguments
// and return values, all marked as the learner's. Kernel state confirms:
// the hostname is set, the clone's return is the child perl saw.
func TestTracedShellAgreesWithStrace(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skipf("strace is not installed: %v", err)
	}
	hostUnchanged(t)
	spec := sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewNS | sandbox.CloneNewPID, Rootless: sandbox.RootlessNever, Label: "t"}
	sb := newSandbox(t, spec)
	out, evs := runTraced(t, sb, theScript())
	if !strings.Contains(out, "untraced-output-ok") {
		t.Errorf("the traced shell did not run to its end:\n%s", out)
	}

	sb2 := newSandbox(t, spec)
	log := filepath.Join(t.TempDir(), "strace.log")
	// The test binary may hold fds its children inherit (go test under
	// flock holds the lock as fd 3); the traced shell's handshake fd took
	// fd 3 and closed it. Close it here too, so fd numbers compare.
	cmd, err := sb2.ShellCommand("/bin/sh", "-c", `exec 3<&-; exec strace -f -qq -y -e signal=none -o "$0" /bin/sh -c "$1"`, log, theScript())
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("strace run: %v\n%s", err, b)
	}
	t.Logf("traced:\n%s\nunder strace:\n%s", out, b)
	raw, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	strace := nsCalls(string(raw))
	if len(strace) < 10 {
		t.Fatalf("strace saw only %d namespace calls:\n%s", len(strace), raw)
	}
	for _, d := range compareWithStrace(evs, strace) {
		t.Error(d)
	}

	// Kernel state and the kernel's own numbers.
	var clone, clone3, sethost *sandbox.Event
	for i, e := range evs {
		if e.Syscall == "clone" && clone == nil {
			clone = &evs[i]
		}
		if e.Syscall == "clone3" && clone3 == nil {
			clone3 = &evs[i]
		}
		if e.String() == `sethostname("lab", 3) = 0` && sethost == nil {
			sethost = &evs[i]
		}
		if e.PID <= 0 || e.TID <= 0 || e.NSPID <= 0 || e.NSPID == e.PID || e.Comm == "" {
			t.Errorf("%s: caller not identified: pid %d tid %d nspid %d comm %q", e, e.PID, e.TID, e.NSPID, e.Comm)
		}
	}
	if sethost == nil || sethost.Comm != "hostname" {
		t.Fatalf(`no sethostname("lab", 3) = 0 from hostname`)
	}
	if got := innerHostname(t, sb); got != "lab" {
		t.Errorf("the sandbox's hostname is %q, want lab", got)
	}
	if runtime.GOARCH == "amd64" {
		if clone == nil || clone3 == nil {
			t.Fatal("no clone or clone3 event")
		}
		for _, c := range []*sandbox.Event{clone, clone3} {
			if want := c.Syscall + "=" + strconv.FormatInt(c.Ret, 10) + "\n"; !strings.Contains(out, want) {
				t.Errorf("%s returned %d to the tracer, perl saw: %s", c.Syscall, c.Ret, out)
			}
		}
	}
	// The grandchild (sh → sh → hostname) is traced too.
	found := false
	for _, e := range evs {
		found = found || e.String() == `sethostname("gc", 2) = 0`
	}
	if !found {
		t.Error("the grandchild's sethostname is missing")
	}
}

// innerHostname asks an untraced shell in the sandbox: untraced commands
// run as before.
func innerHostname(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	cmd, err := sb.ShellCommand("hostname")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("untraced hostname: %v", err)
	}
	return strings.TrimSpace(string(b))
}

// startPrinting runs script traced in sb and prints, for a parent test,
// "TRACE-EVENT: <call> learner=<bool>" per event or "TRACE-UNAVAILABLE:
// <reason>", then "SHELL-OUT: <output>".
func startPrinting(t *testing.T, sb *sandbox.Sandbox, script string) {
	cmd, err := sb.ShellCommand("/bin/sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &out, &out
	rec := &recorder{}
	tr, err := shelltrace.Start(cmd, rec.add)
	switch {
	case errors.Is(err, shelltrace.ErrUnavailable):
		fmt.Println("TRACE-UNAVAILABLE:", err)
	case err != nil:
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("shell: %v", err)
	}
	if tr != nil {
		<-tr.Done()
	}
	for _, e := range rec.events() {
		fmt.Printf("TRACE-EVENT: %s learner=%v\n", e, e.Learner)
	}
	fmt.Printf("SHELL-OUT: %q\n", out.String())
}

// TestRootlessAsNobody: run by nobody in a rootless sandbox (a user
// namespace of its own), the shell is traced, or Start says in one line
// why not and the shell works anyway.
func TestRootlessAsNobody(t *testing.T) {
	const script = "hostname lab; unshare -u true; hostname"
	if os.Getenv("NSLAB_TEST_SHELLTRACE_NOBODY") == "1" {
		eng, err := sandbox.NewEngine()
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		sb, err := eng.Start(ctxFor(t), sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewNS | sandbox.CloneNewPID, Label: "rootless"})
		if err != nil {
			fmt.Println("ROOTLESS-SKIP:", err)
			return
		}
		defer sb.Close()
		if !sb.Rootless() {
			t.Fatal("no user namespace for an unprivileged caller")
		}
		startPrinting(t, sb, script)
		return
	}
	needRoot(t)
	hostUnchanged(t)
	s, err := sandboxtest.AsNobody(t, "TestRootlessAsNobody", "NSLAB_TEST_SHELLTRACE_NOBODY=1")
	if m := regexp.MustCompile(`ROOTLESS-SKIP: (.*)`).FindStringSubmatch(s); m != nil {
		t.Skip("the kernel refuses unprivileged user namespaces here: " + m[1])
	}
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, s)
	}
	t.Logf("as nobody:\n%s", s)
	checkPrinted(t, s, false)
}

// checkPrinted checks startPrinting's output: the shell worked, and it
// was either traced exactly, or untraced with a one-line reason. With
// wantUnavailable, tracing must have been refused.
func checkPrinted(t *testing.T, s string, wantUnavailable bool) {
	t.Helper()
	if !strings.Contains(s, `SHELL-OUT: "lab\n"`) {
		t.Errorf("the shell did not work: %s", s)
	}
	un := regexp.MustCompile(`TRACE-UNAVAILABLE: (.*)`).FindStringSubmatch(s)
	switch {
	case un != nil:
		if strings.TrimSpace(un[1]) == "" || !strings.HasPrefix(un[1], shelltrace.ErrUnavailable.Error()) {
			t.Errorf("reason: %q", un[1])
		}
		if strings.Contains(s, "TRACE-EVENT:") {
			t.Error("events while tracing was unavailable")
		}
	case wantUnavailable:
		t.Errorf("tracing did not report itself unavailable: %s", s)
	default:
		for _, want := range []string{`sethostname("lab", 3) = 0 learner=true`, `unshare(CLONE_NEWUTS) = 0 learner=true`} {
			if !strings.Contains(s, "TRACE-EVENT: "+want+"\n") {
				t.Errorf("missing event %s", want)
			}
		}
	}
}

// TestUnavailableUnderAnotherTracer: when nslab itself runs under strace
// -f, its shell is strace's tracee and PTRACE_SEIZE is refused (EPERM).
// Start then says so, installs no filter (so nothing fails with ENOSYS),
// and the shell works.
func TestUnavailableUnderAnotherTracer(t *testing.T) {
	const script = "hostname lab; unshare -u true; hostname"
	if os.Getenv("NSLAB_TEST_SHELLTRACE_STRACED") == "1" {
		sb := newSandbox(t, sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewNS, Rootless: sandbox.RootlessNever})
		startPrinting(t, sb, script)
		return
	}
	needRoot(t)
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skipf("strace is not installed: %v", err)
	}
	hostUnchanged(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctxFor(t), "strace", "-f", "-qq", "-e", "trace=none", "-o", "/dev/null",
		self, "-test.run=^TestUnavailableUnderAnotherTracer$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "NSLAB_TEST_SHELLTRACE_STRACED=1")
	b, err := cmd.CombinedOutput()
	s := string(b)
	if err != nil {
		t.Fatalf("under strace: %v\n%s", err, s)
	}
	t.Logf("under strace:\n%s", s)
	checkPrinted(t, s, true)
	if !strings.Contains(s, "ptrace refused (EPERM)") {
		t.Errorf("the reason does not name ptrace's EPERM: %s", s)
	}
}

// openPTY opens a pseudo-terminal pair (the TUI uses creack/pty; a test
// needs only these three calls).
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// jobState is the state letter of the "sleep 30" running in sb's PID
// namespace, from the host's /proc.
func jobState(t *testing.T, sb *sandbox.Sandbox) string {
	t.Helper()
	st, ok := sandboxSleep(t, sb)
	if !ok {
		t.Fatal("no sleep 30 in the sandbox")
	}
	return st.State
}

// sandboxSleep is the stat of the sandbox's `sleep 30`, once it has
// exec'd.
func sandboxSleep(t *testing.T, sb *sandbox.Sandbox) (procfs.ProcStat, bool) {
	t.Helper()
	ids, err := sb.IDs()
	if err != nil {
		t.Fatal(err)
	}
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		t.Fatal(err)
	}
	procs, err := fs.AllProcs()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		cl, err := p.CmdLine()
		if err != nil || strings.Join(cl, " ") != "sleep 30" {
			continue
		}
		ns, err := p.Namespaces()
		if err != nil || ns["pid"].Inode != uint32(ids["pid_for_children"].Ino) && ns["pid"].Inode != uint32(ids["pid"].Ino) {
			continue
		}
		st, err := p.Stat()
		if err != nil {
			continue // exited meanwhile
		}
		return st, true
	}
	return procfs.ProcStat{}, false
}

// TestInteractiveShellJobControl: the learner's interactive bash, traced
// on its own pty and session as the pane runs it, keeps job control (^Z
// really stops a job, as the kernel shows), and its calls are traced.
func TestInteractiveShellJobControl(t *testing.T) {
	needRoot(t)
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash is not installed")
	}
	hostUnchanged(t)
	sb := newSandbox(t, sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewNS | sandbox.CloneNewPID, Rootless: sandbox.RootlessNever, Label: "jc"})
	master, slave := openPTY(t)
	cmd, err := sb.ShellCommand("bash", "--norc", "--noprofile", "-i")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	rec := &recorder{}
	tr, err := shelltrace.Start(cmd, rec.add)
	if err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			mu.Lock()
			buf.Write(b[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(what string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(buf.String(), what)
	}
	waitFor := func(what string) {
		t.Helper()
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if seen(what) {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no %q on the pty within 5 s:\n%s", what, buf.String())
	}
	send := func(s string) {
		if _, err := master.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("[nslab:jc]")
	send("sleep 30\n")
	// ^Z signals the terminal's foreground group: sent before bash has
	// given the terminal to the job, it reaches bash, which ignores it.
	// Wait (bounded) until the foreground group is the exec'd sleep's.
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		fg, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
		if err != nil {
			t.Fatal(err)
		}
		if st, ok := sandboxSleep(t, sb); ok && st.PGRP == fg {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("sleep 30 is not the terminal's foreground job within 5 s (foreground group %d)", fg)
		}
	}
	send("\x1a") // ^Z
	waitFor("Stopped")
	// The kernel's view: the job is really stopped, not resumed behind
	// bash's back.
	if st := jobState(t, sb); st != "T" && st != "t" {
		t.Errorf("the stopped job's state is %q, want T or t (stopped)", st)
	}
	send("hostname lab; echo host-$(hostname)\n")
	waitFor("host-lab")
	// Once the kernel has the job dead (bounded wait), a foreground
	// command makes bash wait for children, which reaps it: bash then
	// reports it. (Left to its SIGCHLD alone, bash under the tracer at
	// times kept listing the dead job as Stopped: seen in CI, an open bug.)
	send("kill -9 %1\n")
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, alive := sandboxSleep(t, sb); !alive {
			break
		}
		if time.Now().After(end) {
			t.Fatal("sleep 30 still runs 5 s after kill -9")
		}
	}
	send("/bin/true; jobs\n")
	waitFor("Killed")
	send("exit\n")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the shell did not exit:\n%s", buf.String())
	}
	<-tr.Done()
	found := false
	for _, e := range rec.events() {
		found = found || (e.String() == `sethostname("lab", 3) = 0` && e.Learner)
	}
	if !found {
		t.Errorf(`no sethostname("lab", 3) = 0 in %v`, rec.events())
	}
}

// TestKilledShellEndsTracing: a traced shell killed mid-command (the pane
// closed, the terminal gone) ends the tracer, and leaves no process.
func TestKilledShellEndsTracing(t *testing.T) {
	needRoot(t)
	hostUnchanged(t)
	sb := newSandbox(t, sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewNS | sandbox.CloneNewPID, Rootless: sandbox.RootlessNever})
	cmd, err := sb.ShellCommand("/bin/sh", "-c", "hostname before-kill; sleep 60 & sleep 60")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	rec := &recorder{}
	tr, err := shelltrace.Start(cmd, rec.add)
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); len(rec.events()) == 0 && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if len(rec.events()) == 0 {
		t.Fatal("no event before the kill")
	}
	// Kill the entering process, as a closed pane may: the shell dies
	// with it (PR_SET_PDEATHSIG), but its background job lives on in the
	// sandbox, still carrying the filter, so tracing goes on until the
	// sandbox closes.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	select {
	case <-tr.Done():
		t.Fatal("tracing ended while a traced job still runs in the sandbox")
	case <-time.After(300 * time.Millisecond):
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tr.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("tracing still running 5 s after the shell and its sandbox were killed")
	}
	if err := tr.Err(); err != nil {
		t.Errorf("tracer: %v", err)
	}
}
