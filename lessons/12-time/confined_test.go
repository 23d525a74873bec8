package time

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "time", Logic), lessontest.Want{Right: 1, Facts: 0, Wrong: []lessontest.Attempt{
		{Cmd: "sleep 1000 >/dev/null 2>&1 &", Says: "the time namespace the class server started the sandbox in"},
		// The shell returns once unshare is started; until its child is
		// forked there is nothing in a namespace of its own to see, so the
		// attempt waits (bounded) for a sleep outside the shell's.
		{Cmd: "unshare --time --fork sleep 1000 >/dev/null 2>&1 & " + waitOwnSleep, Says: "a time namespace of its own"},
	}})
}
