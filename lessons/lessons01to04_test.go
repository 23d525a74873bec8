package lessons

// End-to-end tests of lessons 1 to 4 against the real kernel: every fact
// holds, the prediction's answer is the one the kernel gives, the challenge
// check fails on the unsolved state and passes after the reference
// solution, the headless runner passes, and the host is unchanged.

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// lessonCase is what a test knows about a lesson beyond its logic: the
// prediction choice a correct kernel makes right, and how many facts the
// lesson states.
type lessonCase struct {
	id    string
	right int
	facts int
}

func TestLessonOverview(t *testing.T) { testLesson(t, lessonCase{"overview", 0, 6}) }
func TestLessonUTS(t *testing.T)      { testLesson(t, lessonCase{"uts", 0, 7}) }
func TestLessonPID(t *testing.T)      { testLesson(t, lessonCase{"pid", 0, 8}) }
func TestLessonMnt(t *testing.T)      { testLesson(t, lessonCase{"mnt", 0, 7}) }

func testLesson(t *testing.T, c lessonCase) {
	needRoot(t)
	defer hostUnchanged(t)()
	l, err := ByID(c.id)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	t.Run("session", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		s := NewSession(eng, l, nil)
		defer s.Close()
		if err := s.Perform(ctx); err != nil {
			t.Fatalf("perform: %v\nagent stderr: %s", err, boxStderr(s))
		}
		o, err := s.Observe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		facts := s.Facts(o)
		if len(facts) != c.facts {
			t.Errorf("%d facts, want %d", len(facts), c.facts)
		}
		for _, f := range facts {
			if !f.OK {
				t.Errorf("fact does not hold: %s (got %s)", f.Text, f.Got)
			}
		}
		ok, right, why := s.Answer(c.right, o)
		if !ok {
			t.Errorf("prediction: the kernel made choice %d right, want %d: %s", right, c.right, why)
		}
		if why == "" {
			t.Error("prediction has no explanation")
		}

		// The challenge is unsolved after Perform: its check must say so.
		ok, detail, err := s.Check(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			t.Fatalf("check passes on the unsolved state: %s", detail)
		}
		if detail == "" {
			t.Error("a failing check says nothing about why")
		}
		if err := s.Solve(ctx); err != nil {
			t.Fatalf("solve: %v", err)
		}
		ok, detail, err = s.Check(ctx)
		if err != nil || !ok {
			t.Fatalf("check after solve: %v %v %s", ok, err, detail)
		}

		// Facts are derived, not literals: the same observation with the
		// sandbox's identities replaced by the host's breaks some.
		bent := o
		bent.Sandbox.IDs = maps.Clone(o.Host.IDs)
		bent.Diffs = sandbox.DiffAll(bent.Host, bent.Sandbox)
		if AllOK(s.Facts(bent)) {
			t.Error("every fact still holds when the sandbox is in the host's namespaces")
		}
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})

	t.Run("headless", func(t *testing.T) {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		res, err := RunHeadless(ctx, eng, l, RunOptions{Solve: true, Out: &out})
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
		if !res.Passed || !res.ChallengeOK || res.PredictionRight != c.right {
			t.Errorf("result %+v\n%s", res, out.String())
		}
		for _, want := range []string{"HOST", "SANDBOX", "✓", "Lesson " + c.id + ": PASSED", l.Command} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})
}

// boxStderr is the lesson agent's stderr, for failure messages.
func boxStderr(s *Session) string {
	if b := s.Run().Box; b != nil {
		return b.Stderr()
	}
	return ""
}

// rootless14Env names the lessons TestRootlessChild plays; set only in the
// copy of this binary that TestLessonsRootless runs as nobody.
const rootless14Env = "NSLAB_TEST_ROOTLESS_LESSONS"

// TestLessonsRootless runs lessons 1-4, which say they work rootless, as
// the unprivileged user nobody: a copy of this test binary (the build
// directory is root's alone) started with nobody's credentials.
func TestLessonsRootless(t *testing.T) {
	needRoot(t)
	defer hostUnchanged(t)()
	var ids []string
	for _, id := range []string{"overview", "uts", "pid", "mnt"} {
		l, err := ByID(id)
		if err != nil {
			t.Fatal(err)
		}
		if !l.Rootless {
			t.Errorf("%s is not marked rootless", id)
			continue
		}
		ids = append(ids, id)
	}
	probe := exec.Command("unshare", "--user", "--map-root-user", "--uts", "true")
	probe.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("this kernel refuses user namespaces to nobody: %v %s", err, out)
	}
	out, err := sandboxtest.AsNobody(t, "TestRootlessChild", rootless14Env+"="+strings.Join(ids, ","))
	if err != nil {
		t.Fatalf("rootless run: %v\n%s", err, out)
	}
	if !strings.Contains(out, "--- PASS: TestRootlessChild") {
		t.Fatalf("the rootless child did not run:\n%s", out)
	}
	t.Logf("%s", out)
}

// TestRootlessChild is the unprivileged half of TestLessonsRootless.
func TestRootlessChild(t *testing.T) {
	ids := os.Getenv(rootless14Env)
	if ids == "" {
		t.Skip("run by TestLessonsRootless only")
	}
	if os.Geteuid() == 0 {
		t.Fatal("the rootless child runs as root")
	}
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, id := range strings.Split(ids, ",") {
		t.Run(id, func(t *testing.T) {
			l, err := ByID(id)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			res, err := RunHeadless(t.Context(), eng, l, RunOptions{Solve: true, Out: &out})
			if err != nil || !res.Passed {
				t.Fatalf("err %v, result %+v\n%s", err, res, out.String())
			}
		})
	}
}
