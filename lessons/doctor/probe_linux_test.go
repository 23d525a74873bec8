package doctor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// sandbox.ProbeMachine re-executes /proc/self/exe __nslab_true, which here
// is this test binary: answer the hidden entry points before the testing
// framework starts.
func init() {
	if sandbox.IsHidden(os.Args) {
		os.Exit(sandbox.RunHidden(os.Args))
	}
}

// TestCanCreateOnThisMachine holds the doctor's verdict against this
// machine's real probes: as root, a kind can be created exactly when its
// throwaway clone worked, and never "rootless".
func TestCanCreateOnThisMachine(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the probe clones every kind directly")
	}
	defer sandboxtest.Unchanged(t)()
	m := sandbox.ProbeMachine(context.Background())
	if !m.Baseline.OK {
		t.Fatalf("baseline re-exec failed: %+v", m.Baseline)
	}
	for _, p := range m.Probes {
		if ok, rootless, why := CanCreate(m, p.Flag); ok != p.Direct.OK || rootless || ok == (why != "") {
			t.Errorf("CanCreate(%s) = %v %v %q, direct probe %s", p.Kind, ok, rootless, why, p.Direct.Result())
		}
	}
	for _, c := range Checks(m) {
		t.Logf("%-5v %-6s %-20s %s | %s", c.OK, c.Severity, c.ID, c.Detail, c.Fix)
		if !c.OK && c.Fix == "" {
			t.Errorf("failed check %q has no fix", c.ID)
		}
	}
}

// TestCanCreateUnprobed: a machine whose probe never ran (its context was
// cancelled) promises nothing, and says to run the doctor.
func TestCanCreateUnprobed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := sandbox.ProbeMachine(ctx)
	if ok, _, why := CanCreate(m, sandbox.CloneNewUTS); ok || why == "" {
		t.Errorf("CanCreate on an unprobed machine = %v %q", ok, why)
	}
}

// nobodyEnv marks the copy of this test binary that runs as nobody.
const nobodyEnv = "NSLAB_TEST_DOCTOR_AS_NOBODY"

// TestCanCreateAsNobody holds the verdict for an unprivileged user against
// that user's real probes: a kind can be created when either clone worked,
// then always rootless, and otherwise with a reason; and the user check
// says to use sudo. The checks run in a copy of this test binary as nobody.
func TestCanCreateAsNobody(t *testing.T) {
	if os.Getenv(nobodyEnv) == "1" {
		m := sandbox.ProbeMachine(context.Background())
		if m.EUID == 0 {
			t.Fatal("the nobody copy runs as root")
		}
		for _, p := range m.Probes {
			ok, rootless, why := CanCreate(m, p.Flag)
			if ok != (p.Direct.OK || p.Rootless.OK) || (ok && !rootless) || (!ok && why == "") {
				t.Errorf("CanCreate(%s) as uid %d = %v %v %q, probe %+v", p.Kind, m.EUID, ok, rootless, why, p)
			}
		}
		if c := findCheck(t, Checks(m), "user"); c.OK || !strings.Contains(c.Fix, "sudo") {
			t.Errorf("user check as uid %d = %+v", m.EUID, c)
		}
		fmt.Printf("%s checked %d kinds as uid %d\n", nobodyEnv, len(m.Probes), m.EUID)
		return
	}
	out, err := sandboxtest.AsNobody(t, "TestCanCreateAsNobody", nobodyEnv+"=1")
	if err != nil || !strings.Contains(out, nobodyEnv+" checked") {
		t.Fatalf("the copy as nobody: %v\n%s", err, out)
	}
}
