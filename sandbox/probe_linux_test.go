package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// ProbeMachine re-executes /proc/self/exe __nslab_true, which in a test is
// the test binary: answer the hidden entry points here before the testing
// framework starts. An init (not TestMain) so that it adds to, rather than
// clashes with, anything else in the package's tests.
func init() {
	if IsHidden(os.Args) {
		os.Exit(RunHidden(os.Args))
	}
}

// probeNobodyEnv marks the copy of the test binary that runs as nobody.
const probeNobodyEnv = "NSLAB_TEST_PROBE_AS_NOBODY"

// probeMachineLine prefixes the Machine JSON the nobody child prints.
const probeMachineLine = "NSLAB_PROBE_MACHINE "

func TestProbeMagicMatchesUnix(t *testing.T) {
	if probeCgroup2Magic != unix.CGROUP2_SUPER_MAGIC || probeCgroup1Magic != unix.CGROUP_SUPER_MAGIC || probeTmpfsMagic != unix.TMPFS_MAGIC {
		t.Error("file system magic numbers differ from golang.org/x/sys/unix")
	}
}

// probeTrueKids lists throwaway children of this process still alive: a
// probe waits for every child it starts.
func probeTrueKids() []string {
	var kids []string
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, pid := range strings.Fields(string(b)) {
			cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
			if err == nil && bytes.Contains(cmd, []byte(hiddenTrue)) {
				kids = append(kids, pid)
			}
		}
	}
	return kids
}

// unshareFlag is util-linux unshare's option for each kind.
func unshareArgs(kind string) []string {
	switch kind {
	case "mnt":
		return []string{"--mount"}
	case "pid":
		return []string{"--pid", "--fork"}
	case "user":
		return []string{"--user", "--map-root-user"}
	}
	return []string{"--" + kind}
}

// kernelAllows runs unshare(1), optionally through setpriv as nobody, and
// reports whether the kernel let it create the namespaces.
func kernelAllows(t *testing.T, asNobody, viaUser bool, kind string) bool {
	t.Helper()
	var args []string
	if asNobody {
		args = append(args, "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups")
	}
	args = append(args, "unshare")
	if viaUser && kind != "user" {
		args = append(args, "--user", "--map-root-user")
	}
	args = append(args, unshareArgs(kind)...)
	args = append(args, "true")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%v: %v", args, err)
	}
	t.Logf("%s: %v %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	return err == nil
}

func requireUnshare(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"unshare", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("util-linux %s is not installed: %v", tool, err)
		}
	}
}

func TestProbeMachineAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	requireUnshare(t)
	before := sandboxtest.TakeHostPrint(t)
	start := time.Now()
	m := ProbeMachine(context.Background())
	elapsed := time.Since(start)
	if kids := probeTrueKids(); len(kids) != 0 {
		t.Errorf("throwaway children left running: %v", kids)
	}
	// Links, mounts and netns names are machine-wide: UnchangedSince
	// gives asynchronous teardown a few seconds before a difference counts.
	sandboxtest.UnchangedSince(t, before)
	t.Logf("ProbeMachine took %s", elapsed)
	if elapsed > probeBudget {
		t.Errorf("ProbeMachine took %s, over its budget %s", elapsed, probeBudget)
	}
	if m.EUID != 0 || !m.CapsKnown || !m.HasCap(unix.CAP_SYS_ADMIN) {
		t.Errorf("root facts wrong: euid %d caps %v %#x", m.EUID, m.CapsKnown, m.CapEff)
	}
	if !m.Baseline.OK {
		t.Fatalf("baseline re-exec failed: %+v", m.Baseline)
	}
	if len(m.Probes) != len(Kinds()) {
		t.Fatalf("%d probes for %d kinds", len(m.Probes), len(Kinds()))
	}
	if m.Kernel.IsZero() || m.Cgroup == CgroupUnknown || m.RootPropagation == "" {
		t.Errorf("facts missing: kernel %v cgroup %q propagation %q problems %v", m.Kernel, m.Cgroup, m.RootPropagation, m.Problems)
	}
	var refused []string
	for _, p := range m.Probes {
		if want := kernelAllows(t, false, false, p.Kind); p.Direct.OK != want {
			t.Errorf("%s: probe says direct %s, unshare(1) says ok=%v", p.Kind, p.Direct.Result(), want)
		}
		if want := kernelAllows(t, false, true, p.Kind); p.Rootless.OK != want {
			t.Errorf("%s: probe says via user namespace %s, unshare(1) says ok=%v", p.Kind, p.Rootless.Result(), want)
		}
		if !p.Direct.OK {
			refused = append(refused, p.Kind+": "+p.Direct.Result())
		}
	}
	// What the doctor makes of these facts is tested in lessons/doctor.
	if len(refused) > 0 {
		t.Skipf("this machine refuses, even to root: %v", refused)
	}
}

func TestProbeMachineBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	m := ProbeMachine(ctx)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("ProbeMachine with a cancelled context took %s", d)
	}
	if m.Baseline.Tried {
		t.Errorf("baseline tried after cancel: %+v", m.Baseline)
	}
	for _, p := range m.Probes {
		if p.Direct.Tried || p.Rootless.Tried {
			t.Errorf("%s tried after cancel: %+v", p.Kind, p)
		}
	}
	// The facts that need no child are there all the same.
	if m.KernelRelease == "" || !m.CapsKnown {
		t.Errorf("cheap facts missing: %+v", m)
	}
}

// TestProbeMachineAsNobody runs a copy of this test binary as nobody and
// compares its rootless facts with what the kernel does for nobody.
func TestProbeMachineAsNobody(t *testing.T) {
	if os.Getenv(probeNobodyEnv) == "1" {
		// The child: probe and report.
		m := ProbeMachine(context.Background())
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		os.Stdout.WriteString(probeMachineLine + string(b) + "\n")
		return
	}
	requireUnshare(t)
	out, err := sandboxtest.AsNobody(t, "TestProbeMachineAsNobody", probeNobodyEnv+"=1")
	if err != nil {
		t.Fatalf("child as nobody: %v\n%s", err, out)
	}
	var m Machine
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), probeMachineLine); ok {
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			found = true
		}
	}
	if !found {
		t.Fatalf("child printed no machine:\n%s", out)
	}

	if m.EUID != 65534 || m.CapEff != 0 || !m.CapsKnown {
		t.Errorf("nobody's facts: euid %d caps %#x known %v", m.EUID, m.CapEff, m.CapsKnown)
	}
	if !m.Baseline.OK {
		t.Fatalf("nobody could not re-exec the binary: %+v (exe error %q)", m.Baseline, m.ExeErr)
	}
	// The kernel's word, through unshare(1) as nobody, for user namespaces
	// alone and for each kind directly and through a user namespace.
	userOK := kernelAllows(t, true, false, "user")
	if p, _ := m.Probe("user"); p.Direct.OK != userOK {
		t.Errorf("user: probe %s, `unshare --user --map-root-user true` as nobody ok=%v", p.Direct.Result(), userOK)
	}
	for _, p := range m.Probes {
		if p.Kind == "user" {
			continue
		}
		if want := kernelAllows(t, true, false, p.Kind); p.Direct.OK != want {
			t.Errorf("%s: probe direct %s, unshare(1) as nobody ok=%v", p.Kind, p.Direct.Result(), want)
		}
		if want := kernelAllows(t, true, true, p.Kind); p.Rootless.OK != want {
			t.Errorf("%s: probe rootless %s, unshare(1) as nobody ok=%v", p.Kind, p.Rootless.Result(), want)
		}
		if !p.Direct.OK && p.Direct.Errno != "EPERM" {
			t.Errorf("%s: nobody's direct clone failed with %q, want EPERM", p.Kind, p.Direct.Result())
		}
	}
	// What the doctor makes of nobody's facts is tested with the real
	// binary (cmd/nslab TestDoctorAsNobody) and in lessons/doctor.
}
