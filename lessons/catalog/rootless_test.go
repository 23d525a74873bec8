package catalog

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

// rootlessEnv marks the copy of this test binary that TestRootless runs as
// nobody.
const rootlessEnv = "NSLAB_TEST_LESSONS_AS_NOBODY"

// TestRootless plays every lesson marked rootless as the unprivileged user
// nobody, the way a learner without sudo would: a copy of this test binary
// (the build directory is root's alone) runs with nobody's credentials and
// walks each lesson, then plays it headless. A new lesson marked rootless
// is played here with no further line.
func TestRootless(t *testing.T) {
	if os.Getenv(rootlessEnv) != "" {
		t.Skip("this is the copy run as nobody")
	}
	lessontest.NeedRoot(t)
	probe := exec.Command("unshare", "--user", "--map-root-user", "--uts", "true")
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("this kernel refuses user namespaces to nobody: %v %s", err, out)
	}
	t.Cleanup(lessontest.HostUnchanged(t))
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sandboxtest.AsNobody(t, "TestRootlessChild", rootlessEnv+"=1")
	if err != nil || !strings.Contains(out, "--- PASS: TestRootlessChild") {
		t.Fatalf("the lessons as nobody: %v\n%s", err, out)
	}
	for _, l := range all {
		if l.Rootless && !strings.Contains(out, "--- PASS: TestRootlessChild/"+l.ID) {
			t.Errorf("lesson %s did not pass as nobody:\n%s", l.ID, out)
		}
	}
}

// TestRootlessChild is the unprivileged half of TestRootless.
func TestRootlessChild(t *testing.T) {
	if os.Getenv(rootlessEnv) == "" {
		t.Skip("run by TestRootless as nobody")
	}
	if os.Geteuid() == 0 {
		t.Fatal("the rootless child runs as root")
	}
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	eng := lessontest.Engine(t)
	for _, l := range all {
		if !l.Rootless {
			continue
		}
		t.Run(l.ID, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			// The answer's value is each lesson's own test's business (as
			// root); here it must be one of the choices, explained.
			want := lessontest.Want{Right: lessontest.AnyChoice}
			s, _ := lessontest.Walk(t, ctx, eng, l, want)
			if !s.Sandboxes().Box.Rootless() {
				t.Error("the sandbox got no user namespace for an unprivileged user")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			lessontest.Headless(t, ctx, eng, l, want)
		})
	}
}
