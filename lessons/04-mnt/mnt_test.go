package mnt

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "mnt", Logic), lessontest.Want{Right: 0, Facts: 7, Wrong: []lessontest.Attempt{
		{Cmd: "mount -t tmpfs tmpfs /mnt", Says: "no new mount at /tmp"},
		{Cmd: "unshare --mount mount -t tmpfs tmpfs /tmp", Says: "no new mount at /tmp"},
	}})
}
