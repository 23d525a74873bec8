package pid

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "pid", Logic), lessontest.Want{Right: 1, Facts: 0, Wrong: []lessontest.Attempt{
		{Cmd: "mount --bind /proc /proc", Says: "still the host's PID namespace"},
		{Cmd: "unshare --pid --fork mount -t proc proc /proc", Says: "PID 1 is not the agent"},
	}})
}
