package claimtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// hostPIDGap returns the smallest host PID above 2 that no process has,
// such that the PID below it exists: the next PID a fresh PID namespace
// hands out after ns_last_pid is set to gap-1.
func hostPIDGap(t *testing.T) int {
	t.Helper()
	for p := 3; p < 4096; p++ {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", p)); os.IsNotExist(err) {
			return p
		}
	}
	t.Skip("no free host PID below 4096")
	return 0
}

// psAsPID runs procps ps in a new PID namespace (with the host's /proc,
// nothing else mounted) as PID pid of that namespace: ns_last_pid, which
// acts on the writer's own PID namespace (pid_namespaces(7)), is set to
// pid-1 just before sh forks ps.
func psAsPID(t *testing.T, pid int) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	script := fmt.Sprintf("echo %d > /proc/sys/kernel/ns_last_pid && ps -o pid= -p 1", pid-1)
	b, err := exec.CommandContext(ctx, "unshare", "--pid", "--fork", "sh", "-c", script).CombinedOutput()
	return string(b), err
}

// TestClaimProcOfAnotherPIDNamespace: pid_namespaces(7), a proc file
// system shows the PIDs of the namespace of whoever mounted it, while
// getpid() returns the caller's PID in its own namespace. procps's ps
// looks itself up as /proc/<getpid()>: in a PID namespace that still sees
// the host's /proc, that is some host process or none at all, and then ps
// fails with "lookup self". This is why the pid lesson's ps failed now
// and then: the shell's PIDs inside are small, and whether the host has a
// process with the same small number is luck.
func TestClaimProcOfAnotherPIDNamespace(t *testing.T) {
	privileged(t)
	for _, tool := range []string{"unshare", "ps"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s here", tool)
		}
	}
	// PID 2 on the host is kthreadd, always there: ps finds "itself".
	if out, err := psAsPID(t, 2); err != nil {
		t.Fatalf("ps as PID 2 (the host has a PID 2): %v\n%s", err, out)
	}
	// A host PID no process has: ps cannot find itself. Repeated, so that
	// a host process born into the gap in the meantime cannot fake it.
	fails := 0
	for range 5 {
		gap := hostPIDGap(t)
		out, err := psAsPID(t, gap)
		if _, statErr := os.Stat(fmt.Sprintf("/proc/%d", gap)); statErr == nil {
			continue // the host used the number meanwhile
		}
		if err == nil || !strings.Contains(out, "lookup self") {
			t.Errorf("ps as PID %d, a PID the host's /proc does not list: %v\n%s", gap, err, out)
		}
		fails++
	}
	if fails == 0 {
		t.Skip("the host filled every gap while the test ran")
	}
}
