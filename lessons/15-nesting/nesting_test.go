package nesting

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

// want is the lesson's walk, the same on an ordinary engine and a class
// learner's.
var want = lessontest.Want{Right: 1, Facts: 9, Wrong: []lessontest.Attempt{
	// Each leaves its job a second to start, as a learner would
	// before asking for the check.
	// The trap: unshare from the shell makes a child of the shell's
	// own user namespace, a sibling of the nested one.
	{Cmd: "unshare --user sleep 3600 >/dev/null 2>&1 & sleep 1", Says: "hangs directly below the sandbox's own"},
	// Joined the nested one, but made nothing below it.
	{Cmd: `nsenter --user --preserve-credentials --target "$(pgrep -x nslab-nested)" sleep 3600 >/dev/null 2>&1 & sleep 1`, Says: "nothing runs in a new user namespace below it"},
}}

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "nesting", Logic), want)
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// the sandbox in new namespaces of every kind, its root a uid of the
// learner's own outside; the nesting below it, the facts, the shell and
// the challenge are the same.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "nesting", Logic), want)
}
