package overview

import (
	"fmt"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

// want is the lesson's walk on an engine with facts facts.
func want(t *testing.T, facts int) lessontest.Want {
	return lessontest.Want{Right: 0, Facts: facts, Wrong: []lessontest.Attempt{
		// The inode of another namespace, and the device number instead of the inode.
		{Cmd: `hostname "$(readlink /proc/self/ns/net | tr -dc 0-9)"`, Says: "inode number of its uts namespace"},
		{Cmd: `hostname "$(stat -L -c %d /proc/self/ns/uts)"`, Says: "inode number of its uts namespace"},
	}, Secrets: func(s *lessons.Session) []string {
		// The answer is the inode of the flagged sandbox's UTS namespace:
		// the check may say which inode, never its number.
		ids, err := s.Sandboxes().Box.IDs()
		if err != nil {
			t.Fatal(err)
		}
		return []string{fmt.Sprint(ids["uts"].Ino)}
	}}
}

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "overview", Logic), want(t, 6))
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// the server starts every process in new namespaces of every kind, so the
// flagless child is the sandbox's agent's and is compared with the agent;
// the flagged child is in new namespaces of the kinds it asked for and of
// those the server added, none of them the host's.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "overview", Logic), want(t, 7))
}
