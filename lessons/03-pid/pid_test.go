package pid

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "pid", Logic), lessontest.Want{Right: 1, Facts: 9, Wrong: []lessontest.Attempt{
		// The host's proc, bound again: still lists the host's processes.
		{Cmd: "mount --bind /proc /proc", Says: "still the host's PID namespace"},
		// A proc of yet another PID namespace, whose init has exited.
		{Cmd: "unshare --pid --fork mount -t proc proc /proc", Says: "PID 1 is not the agent"},
	}})
}
