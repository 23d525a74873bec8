package mnt

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "mnt", Logic), lessontest.Want{Right: 1, Facts: 8, Wrong: []lessontest.Attempt{
		{Cmd: "mount -t tmpfs tmpfs /mnt", Says: "no new mount at /tmp"},
		{Cmd: "unshare --mount mount -t tmpfs tmpfs /tmp", Says: "no new mount at /tmp"},
		// A tmpfs, but the host's: the host sees whatever is written there.
		{Cmd: "mount --bind /dev/shm /tmp", Says: "is the host's /dev/shm, bound there", Undo: "umount /tmp"},
	}})
}
