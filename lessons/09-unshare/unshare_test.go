package unshare

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

// want is the lesson's walk, the same on an ordinary engine and a class
// learner's.
var want = lessontest.Want{Right: 2, Wrong: []lessontest.Attempt{
	// Each ends by itself within seconds: the sandbox has no PID
	// namespace whose end would take a leftover along.
	{Cmd: "unshare --pid --fork sh -c 'ls /; ls /'", Says: "no process of the sandbox"},
	{Cmd: "unshare --pid sleep 3 >/dev/null 2>&1 &", Says: "has started no child yet"},
	{Cmd: "unshare --pid --fork sleep 3 >/dev/null 2>&1 &", Says: "still alive"},
}}

func TestLesson(t *testing.T) {
	s, o := lessontest.Play(t, lessontest.Lesson(t, "unshare", Logic), want)
	unshareCalls(t, s)
	if o.Extra[unshareToolCmd] == "" {
		t.Error("unshare(1) was not run")
	}
}

// unshareCalls holds the trace to the calls in the order the lesson made
// them.
func unshareCalls(t *testing.T, s *lessons.Session) {
	t.Helper()
	var calls []string
	for _, e := range s.Events() {
		// In a class the agent also unshares its cgroup namespace as it
		// starts, on the server's behalf, noted as such.
		if e.Syscall == "unshare" && !strings.HasPrefix(e.Note, "the class server confines you") {
			calls = append(calls, e.String())
		}
	}
	want := []string{"unshare(CLONE_NEWUTS) = 0", "unshare(CLONE_NEWPID) = 0", "unshare(CLONE_NEWNS) = 0",
		"unshare(CLONE_NEWUSER) = -1 EINVAL (Invalid argument)"}
	if strings.Join(calls, "\n") != strings.Join(want, "\n") {
		t.Errorf("unshare calls:\n%s\nwant:\n%s", strings.Join(calls, "\n"), strings.Join(want, "\n"))
	}
}

// TestUnshareToolIsAWrapper cross-checks the lesson's claim with strace:
// util-linux unshare --uts calls unshare(CLONE_NEWUTS) itself.
func TestUnshareToolIsAWrapper(t *testing.T) {
	lessontest.NeedRoot(t)
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

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// the agent starts in new namespaces of every kind, the facts compare
// with those and say none is the host's, and unshare(1) runs inside the
// sandbox.
func TestLessonConfined(t *testing.T) {
	s, o := lessontest.PlayConfined(t, lessontest.Lesson(t, "unshare", Logic), want)
	unshareCalls(t, s)
	if o.Extra[unshareToolFrom] == "" {
		t.Error("unshare(1) was not run in the sandbox")
	}
}
