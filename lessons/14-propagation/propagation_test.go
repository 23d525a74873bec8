package propagation

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "propagation", Logic), lessontest.Want{Right: 2, Facts: 8})
}
