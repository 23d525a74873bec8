package overview

import (
	"fmt"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "overview", Logic), lessontest.Want{Right: 0, Facts: 6, Wrong: []lessontest.Attempt{
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
	}})
}
