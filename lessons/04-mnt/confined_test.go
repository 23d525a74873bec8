package mnt

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "mnt", Logic), lessontest.Want{Right: 1, Facts: 0, Wrong: []lessontest.Attempt{
		{Cmd: "mount -t tmpfs tmpfs /mnt", Says: "no new mount at /tmp"},
		{Cmd: "unshare --mount mount -t tmpfs tmpfs /tmp", Says: "no new mount at /tmp"},
		{Cmd: "mount --bind /dev/shm /tmp", Says: "is the host's /dev/shm, bound there", Undo: "umount /tmp"},
	}})
}
