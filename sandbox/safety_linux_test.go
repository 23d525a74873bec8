package sandbox

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// childMode runs the test binary again in a role named by an environment
// variable; the returned command runs only the given test.
func childMode(t *testing.T, test, env string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"=1")
	return cmd
}

// TestKillParentLeavesNothing: SIGKILL of the process that owns sandboxes
// (nslab itself) leaves no agent, no idle child, no veth on the host.
func TestKillParentLeavesNothing(t *testing.T) {
	needRoot(t)
	if os.Getenv("NSLAB_TEST_KILLME") == "1" {
		killmeChild(t)
		return
	}
	observeHostFingerprint(t)
	cmd := childMode(t, "TestKillParentLeavesNothing", "NSLAB_TEST_KILLME")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var agents []int
	var veths []string
	var pidns []NSID
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "READY" {
			pid, _ := strconv.Atoi(f[1])
			agents = append(agents, pid)
			veths = append(veths, f[2])
			ino, _ := strconv.ParseUint(f[3], 10, 64)
			pidns = append(pidns, NSID{Ino: ino})
		}
		if len(f) == 1 && f[0] == "ALL-READY" {
			break
		}
	}
	if len(agents) == 0 {
		t.Fatal("child started no sandbox")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	go func() { _, _ = io.Copy(io.Discard, out) }()
	end := time.Now().Add(5 * time.Second)
	for _, pid := range agents {
		for unix.Kill(pid, 0) == nil && time.Now().Before(end) {
			time.Sleep(20 * time.Millisecond)
		}
		if unix.Kill(pid, 0) == nil {
			t.Errorf("agent %d survived the SIGKILL of its parent", pid)
		}
	}
	for _, name := range veths {
		for time.Now().Before(end) {
			if _, err := netlink.LinkByName(name); err != nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if _, err := netlink.LinkByName(name); err == nil {
			t.Errorf("veth %s left on the host", name)
		}
	}
	for _, ns := range pidns {
		procs, _ := ObserveProcs(NSID{Dev: eng0Dev(t), Ino: ns.Ino})
		if len(procs) > 0 {
			t.Errorf("processes left in PID namespace %d: %+v", ns.Ino, procs)
		}
	}
}

// eng0Dev is the nsfs device number, the same for every namespace.
func eng0Dev(t *testing.T) uint64 {
	ids, err := ReadIDs(0)
	if err != nil {
		t.Fatal(err)
	}
	return ids["pid"].Dev
}

func killmeChild(t *testing.T) {
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	for i := 0; i < 2; i++ {
		sb, err := eng.Start(ctx, Spec{Flags: CloneNewNet | CloneNewPID | CloneNewUTS | CloneNewIPC | CloneNewNS, Rootless: RootlessNever})
		if err != nil {
			t.Fatal(err)
		}
		v, err := sb.AddVeth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sb.Spawn(ctx, 3); err != nil {
			t.Fatal(err)
		}
		ids, _ := sb.IDs()
		fmt.Printf("READY %d %s %d\n", sb.PID(), v.HostName, ids["pid"].Ino)
	}
	// An unshare-style sandbox too: its idle children are not protected by
	// a PID namespace dying, only by their parent-death signal.
	plain, err := eng.Start(ctx, Spec{Rootless: RootlessNever})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Unshare(ctx, CloneNewUTS); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Spawn(ctx, 2); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ALL-READY")
	time.Sleep(time.Minute) // killed long before
}

// TestRootlessAsNobody runs a compiled copy of this test binary as nobody
// and exercises the rootless path: a user namespace is added, root inside
// can set the hostname, mount a tmpfs, bring lo up, and the shell enters.
func TestRootlessAsNobody(t *testing.T) {
	if os.Getenv("NSLAB_TEST_ROOTLESS") == "1" {
		rootlessChild(t, false)
		return
	}
	if os.Geteuid() != 0 {
		// `go test ./sandbox/...` run by an ordinary user: this is the
		// rootless path itself, no setpriv needed.
		rootlessChild(t, true)
		return
	}
	observeHostFingerprint(t)
	s, err := sandboxtest.AsNobody(t, "TestRootlessAsNobody", "NSLAB_TEST_ROOTLESS=1")
	if m := regexp.MustCompile(`ROOTLESS-SKIP: (.*)`).FindStringSubmatch(s); m != nil {
		t.Skip("the kernel refuses unprivileged user namespaces here: " + m[1])
	}
	if err != nil || !strings.Contains(s, "ROOTLESS-OK") {
		t.Fatalf("rootless child: %v\n%s", err, s)
	}
}

// rootlessChild plays the rootless path. Started by the root test through
// setpriv it prints markers for its parent; run directly it skips with the
// kernel's reason when user namespaces are refused.
func rootlessChild(t *testing.T, direct bool) {
	if os.Geteuid() == 0 {
		t.Fatal("rootless child runs as root")
	}
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := testCtx(t)
	sb, err := eng.Start(ctx, Spec{Flags: CloneNewUTS | CloneNewNS | CloneNewNet | CloneNewIPC | CloneNewPID, Label: "rootless"})
	if err != nil {
		if direct {
			t.Skip("the kernel refuses an unprivileged user namespace here: " + err.Error())
		}
		fmt.Println("ROOTLESS-SKIP:", err)
		return
	}
	if !sb.Rootless() || sb.Flags()&CloneNewUser == 0 {
		t.Fatal("no user namespace added for an unprivileged caller")
	}
	// openat of uid_map, then the write of the map line to that fd.
	sawMap := false
	evs := sb.Events(0)
	for i, e := range evs {
		if e.Syscall == "openat" && strings.Contains(strings.Join(e.Args, " "), "/uid_map\"") && e.Errno == "" && i+1 < len(evs) {
			w := evs[i+1]
			sawMap = w.Syscall == "write" && w.Errno == "" && len(w.Args) == 3 && w.Args[0] == strconv.FormatInt(e.Ret, 10) &&
				w.Ret > 0 && w.Args[2] == strconv.FormatInt(w.Ret, 10) // the whole line written
		}
	}
	if !sawMap {
		t.Errorf("trace lacks the uid_map write: %v", sb.Events(0))
	}
	if err := sb.SetHostname(ctx, "rootless"); err != nil {
		t.Fatal(err)
	}
	if err := sb.Mount(ctx, "tmpfs", "/mnt"); err != nil {
		t.Fatal(err)
	}
	if err := sb.LinkUp(ctx, "lo"); err != nil {
		t.Fatal(err)
	}
	snap, err := sb.Observe(ctx, []View{ViewUTS, ViewUser, ViewNet, ViewPIDs})
	if err != nil {
		t.Fatal(err)
	}
	if snap.Hostname != "rootless" || snap.User == nil || snap.User.EUID != 0 {
		t.Errorf("inside: hostname %q user %+v errs %v", snap.Hostname, snap.User, snap.Errs)
	}
	cmd, err := sb.ShellCommand("/bin/sh", "-c", "id -u; hostname")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Fields(string(out))[0] != "0" || !strings.Contains(string(out), "rootless") {
		t.Fatalf("shell inside (rootless): %v %q", err, out)
	}
	if _, err := sb.AddVeth(ctx); err == nil {
		t.Error("an unprivileged user added a veth to the host")
	}
	noHistoryInHome(t, sb)
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ROOTLESS-OK")
}

// TestCloneFlagsTraceMatchesStrace: the clone and clone3 events of agents
// started with every kind of flag set (clone3 is what Go issues for
// CLONE_NEWTIME, which no lesson passes to clone) match strace's record,
// as TestTraceMatchesStrace (cmd/nslab) holds the lessons' traces.
func TestCloneFlagsTraceMatchesStrace(t *testing.T) {
	if os.Getenv("NSLAB_TEST_STRACE") == "1" {
		straceChild(t)
		return
	}
	needRoot(t)
	if _, err := exec.LookPath("strace"); err != nil {
		t.Skip("strace is not installed")
	}
	observeHostFingerprint(t)
	log := filepath.Join(t.TempDir(), "strace.log")
	cmd := exec.Command("strace", "-f", "-qq", "-s", "65535", "-o", log, "-e", "trace="+strings.Join(TraceSyscalls(), ","),
		os.Args[0], "-test.run=^TestCloneFlagsTraceMatchesStrace$", "-test.count=1")
	cmd.Env = append(os.Environ(), "NSLAB_TEST_STRACE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var events []sandboxtest.TraceEvent
	for _, line := range strings.Split(string(out), "\n") {
		if j, ok := strings.CutPrefix(line, "EVENT "); ok {
			var e sandboxtest.TraceEvent
			if err := json.Unmarshal([]byte(j), &e); err != nil {
				t.Fatal(err)
			}
			events = append(events, e)
		}
	}
	calls3 := 0
	for _, e := range events {
		if e.Syscall == "clone3" {
			calls3++
		}
	}
	if len(events) < 3 || calls3 == 0 {
		t.Fatalf("child printed %d events, %d clone3:\n%s", len(events), calls3, out)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	calls := sandboxtest.ParseStrace(string(b))
	for _, bad := range sandboxtest.MatchTrace(events, calls) {
		t.Error(bad)
	}
}

func straceChild(t *testing.T) {
	eng, err := NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	ctx := testCtx(t)
	for _, spec := range []Spec{
		{Flags: CloneNewUTS | CloneNewPID, Rootless: RootlessNever},
		{Flags: CloneNewTime | CloneNewUTS, Rootless: RootlessNever},
		{Flags: AllFlags() &^ CloneNewUser, Rootless: RootlessNever},
		{Flags: CloneNewTime | CloneNewUTS, Rootless: RootlessAlways, MapRootToNobody: true}, // clone3 and the id maps
	} {
		sb, err := eng.Start(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range sb.Events(0) {
			b, _ := json.Marshal(ev)
			fmt.Printf("EVENT %s\n", b)
		}
		if err := sb.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// noHistoryInHome runs the interactive shell nslab offers, as the
// rootless learner with HOME a directory of theirs, types a command and
// exits: no .bash_history lands in that HOME. The same bash started
// directly there writes one, so the check can fail.
func noHistoryInHome(t *testing.T, sb *Sandbox) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Log("no bash: the history check needs it")
		return
	}
	run := func(cmd *exec.Cmd, home string) string {
		t.Helper()
		env := []string{"HOME=" + home}
		for _, kv := range cmd.Env {
			if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "HISTFILE=") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, envEnterShell+"="+bash)
		master, err := StartOnPTY(cmd, 80, 24)
		if err != nil {
			t.Fatal(err)
		}
		defer master.Close()
		out := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(master) // EIO once the shell is gone
			out <- string(b)
		}()
		if _, err := master.Write([]byte("echo hist-$((6*7))\nexit\n")); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Fatal("the shell did not exit")
		}
		master.Close()
		return <-out
	}
	inside, direct := t.TempDir(), t.TempDir()
	cmd, err := sb.ShellCommand()
	if err != nil {
		t.Fatal(err)
	}
	if out := run(cmd, inside); !strings.Contains(out, "hist-42") {
		t.Fatalf("the sandbox shell did not run the command: %q", out)
	}
	if _, err := os.Stat(filepath.Join(inside, ".bash_history")); err == nil {
		t.Error("the sandbox's shell wrote .bash_history into the learner's HOME")
	}
	run(exec.Command(bash, "--norc", "--noprofile", "-i"), direct)
	if _, err := os.Stat(filepath.Join(direct, ".bash_history")); err != nil {
		t.Errorf("bash started directly wrote no history either, so the check cannot fail: %v", err)
	}
}
