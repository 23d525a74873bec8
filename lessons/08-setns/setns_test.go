package setns

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// The kernel's answer to the prediction is 1: only pid_for_children.
	sess, _ := lessontest.Play(t, lessontest.Lesson(t, "setns", Logic), lessontest.Want{Right: 1, Wrong: []lessontest.Attempt{
		{Cmd: "unshare --uts hostname joined", Says: `not "joined"`},
		{Cmd: "domainname joined", Says: `not "joined"`},
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
