package time

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "time", Logic), lessontest.Want{Right: 1, Facts: 0, Wrong: []lessontest.Attempt{
		// Finding 20: the shell is in the host's time namespace, and so is
		// a plain sleep; unshare --time puts the sleep in a third one.
		{Cmd: "sleep 1000 >/dev/null 2>&1 &", Says: "the host's time namespace"},
		{Cmd: "unshare --time --fork sleep 1000 >/dev/null 2>&1 &", Says: "a time namespace of its own"},
	}})
}
