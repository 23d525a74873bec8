package setns

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// The kernel's answer to the prediction is 2: the joiner's child takes
	// the next PID the target's namespace has not handed out.
	sess, _ := lessontest.Play(t, lessontest.Lesson(t, "setns", Logic), lessontest.Want{Right: 2, Wrong: []lessontest.Attempt{
		// Renaming where the shell is renames the target, not the keeper.
		{Cmd: "hostname kept", Says: "the target itself is now named", Undo: "hostname target"},
		// A new UTS namespace of one's own is not the keeper's.
		{Cmd: "unshare --uts hostname kept", Says: "still named"},
	}, Secrets: func(s *lessons.Session) []string {
		// The keeper's host PID is what the learner has to find.
		return []string{s.Sandboxes().Get(setnsKeeperPID)}
	}})
	// The EINVAL of the wrong nstype and of the user namespace are in the
	// trace the learner sees, from the joiner.
	var einval []string
	for _, e := range sess.Events() {
		if e.Syscall == "setns" && e.Errno == "EINVAL" {
			einval = append(einval, e.String())
		}
	}
	if len(einval) != 2 {
		t.Errorf("want two setns EINVAL events (wrong nstype, user), got %q", einval)
	}
	if joined := strings.Join(einval, " "); !strings.Contains(joined, "CLONE_NEWNET") || !strings.Contains(joined, "CLONE_NEWUSER") {
		t.Errorf("the EINVAL events do not name the nstypes: %q", einval)
	}
}

func TestSetnsFactsEmptyObservation(t *testing.T) {
	for _, f := range setnsFacts(lessons.Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}
