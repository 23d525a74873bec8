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
		// In a class /dev/shm is a directory of the sandbox's own root
		// tmpfs: bound on /tmp it is that tmpfs again, not a new one.
		{Cmd: "mount --bind /dev/shm /tmp", Says: "already mounted at / inside", Undo: "umount /tmp"},
	}})
}
