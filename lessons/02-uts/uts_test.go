package uts

import (
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "uts", Logic), lessontest.Want{Right: 0, Facts: 7, Wrong: []lessontest.Attempt{
		{Cmd: "hostname lab.nslab.test", Says: "hostname"},
		{Cmd: "hostname lab", Says: "domain name"},
	}})
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "uts", Logic), lessontest.Want{Right: 0, Facts: 8, Wrong: []lessontest.Attempt{
		{Cmd: "hostname lab.nslab.test", Says: "hostname"},
		{Cmd: "hostname lab", Says: "domain name"},
	}})
}
