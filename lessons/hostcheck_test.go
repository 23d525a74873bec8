package lessons

// The host fingerprint every privileged lesson test takes before and after
// a lesson run: any difference fails the test. Usage, first thing in a test
// that starts sandboxes:
//
//	defer hostUnchanged(t)()
//
// Other lesson authors reuse it; its names are stable. The fingerprint
// itself is sandbox/sandboxtest's, shared with the other packages' tests.

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// TestMain dispatches the hidden entry points: agents re-execute this test
// binary through /proc/self/exe. It is the package's only TestMain.
func TestMain(m *testing.M) {
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
	// Under `sudo go test` (the README's command) nslab would act for the
	// user who ran sudo; the tests set SUDO_* themselves where they mean it.
	for _, k := range []string{"SUDO_USER", "SUDO_UID", "SUDO_GID"} {
		os.Unsetenv(k)
	}
	os.Exit(m.Run())
}

// hostUnchanged takes the host's fingerprint now and returns a function
// that fails t if the host differs afterwards (after a bounded wait for
// agents and links to go).
func hostUnchanged(t testing.TB) func() {
	t.Helper()
	return sandboxtest.Unchanged(t)
}

// needRoot skips a privileged test for a non-root user with the reason.
func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: this test creates namespaces and compares the host")
	}
}

// TestHostPrintSeesASandbox shows the fingerprint can fail: while a
// sandbox with its own namespaces runs, its agent is a new foreign process;
// after Close the print is back to what it was.
func TestHostPrintSeesASandbox(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	sb, err := eng.Start(t.Context(), sandbox.Spec{Flags: sandbox.CloneNewUTS | sandbox.CloneNewIPC, Label: "hostcheck"})
	if err != nil {
		t.Fatal(err)
	}
	d := before.Diff(sandboxtest.TakeHostPrint(t))
	want := fmt.Sprintf("%d ", sb.PID())
	found := false
	for _, x := range strings.Split(d, "\n") {
		if strings.Contains(x, want) && strings.Contains(x, "uts") {
			found = true
		}
	}
	if !found {
		t.Errorf("the running agent %d is not reported as a new foreign process: %q", sb.PID(), d)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	sandboxtest.UnchangedSince(t, before)
}
