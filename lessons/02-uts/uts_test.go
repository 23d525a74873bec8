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
