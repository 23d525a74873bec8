package container

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "container", Logic), lessontest.Want{Right: 0, Facts: 0, Wrong: []lessontest.Attempt{
		{Cmd: "unshare --mount sh -c 'mount -t tmpfs tmp /tmp && echo hello > /tmp/hello-from-container'", Says: "no tmpfs of the container's own"},
		// A tmpfs, but the host's: the file lands in the host's /dev/shm.
		{Cmd: "mount --bind /dev/shm /tmp && echo hello > /tmp/hello-from-container", Says: "is the host's /dev/shm, bound there",
			Undo: "rm /tmp/hello-from-container && umount /tmp"},
		{Cmd: "mount -t tmpfs tmp /tmp", Says: "no /tmp/hello-from-container in it yet"},
	}})
}
