package ipc

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "ipc", Logic), lessontest.Want{Right: 1, Facts: 0, Wrong: []lessontest.Attempt{
		{Cmd: "mount -t tmpfs mqueue /mnt && ls -l /mnt", Says: "is not listed inside"},
		{Cmd: "unshare --ipc mount -t mqueue mqueue /mnt && ls -l /mnt", Says: "is not listed inside"},
	}})
}
