package lessons

import (
	"bytes"
	"context"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// playLessonCore performs one lesson in a fresh engine and session and
// returns the session (closed with the test) and its first observation.
// Every fact must hold, and the prediction's right answer is wantAnswer.
func playLessonCore(t *testing.T, ctx context.Context, id string, wantAnswer int) (*Session, Observation) {
	t.Helper()
	l, err := ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := eng.Close(); err != nil {
			t.Errorf("engine close: %v", err)
		}
	})
	s := NewSession(eng, l, nil)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("session close: %v", err)
		}
	})
	if err := s.Perform(ctx); err != nil {
		for _, e := range s.Events() {
			t.Logf("trace: %s %s %s", e, e.Detail(), e.Note)
		}
		t.Fatalf("perform: %v", err)
	}
	o, err := s.Observe(ctx)
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	facts := s.Facts(o)
	if len(facts) == 0 {
		t.Fatal("no facts")
	}
	for _, f := range facts {
		if !f.OK {
			t.Errorf("fact does not hold: %s (got %s)", f.Text, f.Got)
		} else {
			t.Logf("ok: %s (%s)", f.Text, f.Got)
		}
	}
	if n := len(l.Prediction.Choices); n < 2 {
		t.Errorf("prediction has %d choices", n)
	}
	ok, right, why := s.Answer(wantAnswer, o)
	if !ok || why == "" {
		t.Errorf("prediction: right answer %d (%s), want %d", right, why, wantAnswer)
	}
	t.Logf("prediction: %s", why)
	// With the sandbox's identities replaced by the host's, some fact must
	// fail: they look at the namespaces, not only at what Perform kept.
	bent := o
	bent.Sandbox.IDs = maps.Clone(o.Host.IDs)
	bent.Diffs = sandbox.DiffAll(bent.Host, bent.Sandbox)
	if AllOK(l.Logic.Facts(bent)) {
		t.Error("every fact still holds when the sandbox is in the host's namespaces")
	}
	// The same facts over an observation that saw nothing must not hold:
	// they are derived from what the kernel showed, not written in.
	for _, f := range l.Logic.Facts(Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
	return s, o
}

// challengeRoundTrip shows the challenge check false on the unsolved
// state, then true after the reference solution.
func challengeRoundTrip(t *testing.T, ctx context.Context, s *Session) {
	t.Helper()
	c := s.Lesson().Challenge
	if c.Task == "" || len(c.Hints) < 1 || len(c.Hints) > 3 || len(c.Solution) == 0 {
		t.Errorf("challenge incomplete: %+v", c)
	}
	ok, detail, err := s.Check(ctx)
	if err != nil {
		t.Fatalf("check before solving: %v", err)
	}
	if ok {
		t.Fatalf("check passes on the unsolved state: %s", detail)
	}
	t.Logf("unsolved: %s", detail)
	if err := s.Solve(ctx); err != nil {
		t.Fatalf("solve: %v", err)
	}
	ok, detail, err = s.Check(ctx)
	if err != nil || !ok {
		t.Fatalf("check after solving: %v %v: %s", ok, err, detail)
	}
	t.Logf("solved: %s", detail)
}

// headlessSolved plays lesson id through the headless runner with its
// reference solution, in plain text and in JSON lines: both must pass.
func headlessSolved(t *testing.T, ctx context.Context, id string, wantAnswer int) {
	t.Helper()
	l, err := ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, js := range []bool{false, true} {
		var out bytes.Buffer
		res, err := RunHeadless(ctx, eng, l, RunOptions{Solve: true, JSON: js, Out: &out})
		if err != nil {
			t.Fatalf("headless (json %v): %v\n%s", js, err, out.String())
		}
		if !res.Passed || !res.ChallengeOK || res.PredictionRight != wantAnswer {
			t.Errorf("headless (json %v): %+v\n%s", js, res, out.String())
		}
		want := []string{"HOST", "SANDBOX", "Lesson " + id + ": PASSED", l.Command}
		if js {
			want = []string{`"type":`, `"passed":true`}
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("headless (json %v) output lacks %q:\n%s", js, w, out.String())
			}
		}
	}
}

func TestUnshareLesson(t *testing.T) {
	needRoot(t)
	// A cleanup registered first runs last: after the session and engine
	// that playLessonCore registers are closed.
	t.Cleanup(hostUnchanged(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, o := playLessonCore(t, ctx, "unshare", 0)
	// The trace names the calls in the order the lesson made them.
	var calls []string
	for _, e := range s.Events() {
		if e.Syscall == "unshare" {
			calls = append(calls, e.String())
		}
	}
	want := []string{"unshare(CLONE_NEWUTS) = 0", "unshare(CLONE_NEWPID) = 0", "unshare(CLONE_FS) = 0", "unshare(CLONE_NEWNS) = 0",
		"unshare(CLONE_NEWUSER) = -1 EINVAL (Invalid argument)"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("unshare calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
	if o.Extra[u9ToolCmd] == "" {
		t.Error("unshare(1) was not run")
	}
	challengeRoundTrip(t, ctx, s)
	headlessSolved(t, ctx, "unshare", 0)
}

// TestUnshareToolIsAWrapper cross-checks the lesson's claim with strace:
// util-linux unshare --uts calls unshare(CLONE_NEWUTS) itself.
func TestUnshareToolIsAWrapper(t *testing.T) {
	needRoot(t)
	st, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace is not installed")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, st, "-f", "-e", "trace=unshare", "unshare", "--uts", "true").CombinedOutput()
	if err != nil {
		t.Fatalf("strace: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`unshare\(CLONE_NEWUTS\)\s*= 0`).Match(out) {
		t.Errorf("unshare --uts did not call unshare(CLONE_NEWUTS):\n%s", out)
	}
}

// envRootlessInner marks the copy of this test binary that
// TestLessons9to12Rootless runs as an unprivileged user.
const envRootlessInner = "NSLAB_TEST_ROOTLESS_INNER"

// TestLessons9to12Rootless runs lessons 9-12 (all marked rootless) end to
// end as the unprivileged user nobody: a copy of this test binary, run with
// that uid, plays each lesson through a user namespace the engine adds.
func TestLessons9to12Rootless(t *testing.T) {
	if os.Getenv(envRootlessInner) != "" {
		t.Skip("this is the inner run")
	}
	needRoot(t)
	nobody := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	probe := exec.Command("unshare", "--user", "--map-root-user", "--uts", "true")
	probe.SysProcAttr = nobody
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("the kernel refuses user namespaces to nobody here: %v %s", err, out)
	}
	t.Cleanup(hostUnchanged(t))
	out, err := sandboxtest.AsNobody(t, "TestRootlessInner9to12", envRootlessInner+"=1")
	if err != nil || !strings.Contains(out, "--- PASS: TestRootlessInner9to12") {
		t.Fatalf("lessons 9-12 as nobody: %v\n%s", err, out)
	}
	for _, id := range []string{"unshare", "container", "cgroup", "time"} {
		if !strings.Contains(out, "--- PASS: TestRootlessInner9to12/"+id) {
			t.Errorf("lesson %s did not pass as nobody:\n%s", id, out)
		}
	}
}

// TestRootlessInner9to12 is the unprivileged half of
// TestLessons9to12Rootless; it runs only in the copy that test starts.
func TestRootlessInner9to12(t *testing.T) {
	if os.Getenv(envRootlessInner) == "" {
		t.Skip("run by TestLessons9to12Rootless as an unprivileged user")
	}
	if os.Geteuid() == 0 {
		t.Fatal("the inner run must not be root")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for _, id := range []string{"unshare", "container", "cgroup", "time"} {
		t.Run(id, func(t *testing.T) {
			s, _ := playLessonCore(t, ctx, id, 0)
			if !s.Run().Box.Rootless() {
				t.Error("the sandbox got no user namespace for an unprivileged user")
			}
			challengeRoundTrip(t, ctx, s)
		})
	}
}
