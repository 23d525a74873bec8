package ui

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/internal/uitest"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// TestFirstFrame: the first frame of a lesson screen, from nothing, takes
// well under 100 ms.
func TestFirstFrame(t *testing.T) {
	start := time.Now()
	c := appConfig{ctx: context.Background(), styles: common.NewStyles(true, true), lessons: uitest.Lessons(),
		newSession: func(l lessons.Lesson) lesson.Session { return uitest.NewSession(l) }}
	a := newApp(c)
	m, _ := a.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m, _ = m.Update(openLessonMsg{ID: "uts"})
	if v := m.View(); len(v.Content) == 0 {
		t.Fatal("empty first frame")
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Errorf("first frame took %v", d)
	}
}
