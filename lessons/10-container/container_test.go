package container

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "container", Logic), lessontest.Want{Right: 0, Facts: 0})
}
