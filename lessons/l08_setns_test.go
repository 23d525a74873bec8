package lessons

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox"
)

func TestSetnsLesson(t *testing.T) {
	needRoot(t)
	defer hostUnchanged(t)()
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	sess, o := walkLesson(t, eng, "setns")
	if right, why := sess.Lesson().Logic.Answer(o); right != 1 {
		t.Errorf("the kernel's answer to the prediction is %d (%s), want 1 (only pid_for_children)", right, why)
	}
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
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	headlessSolves(t, eng, "setns")
}

func TestSetnsFactsEmptyObservation(t *testing.T) {
	for _, f := range setnsFacts(Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}
