package container

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "container", Logic), lessontest.Want{Right: 0, Facts: 0, Wrong: []lessontest.Attempt{
		{Cmd: "unshare --mount sh -c 'mount -t tmpfs tmp /tmp && echo hello > /tmp/hello-from-container'", Says: "no tmpfs of the container's own"},
		{Cmd: "mount -t tmpfs tmp /tmp", Says: "no /tmp/hello-from-container in it yet"},
	}})
}
