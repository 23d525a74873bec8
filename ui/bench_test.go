package ui

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// benchLesson is a lesson screen at w x h after Perform, on the Observe
// part, with a realistic observation: 300 host processes, 100 mounts.
func benchLesson(b *testing.B, w, h int) (LessonModel, ObservedMsg) {
	b.Helper()
	ls := fakeLessons()
	s := newFakeSession(ls[1])
	s.obs = fakeObservation(300, 100)
	if err := s.Perform(context.Background()); err != nil {
		b.Fatal(err)
	}
	st := asciiStyles()
	m := NewLesson(context.Background(), st, 1, s, "", time.Second).SetSize(w, h)
	m.performed = true
	m, _ = m.move(true)
	m, _ = m.move(true)
	m, _ = m.move(true)
	o := s.obs
	msg := ObservedMsg{sid: 1, Obs: o, Facts: s.Facts(o), Events: s.Events()}
	m, _ = m.Update(msg)
	if m.obs == nil {
		b.Fatal("no observation")
	}
	return m, msg
}

func BenchmarkView(b *testing.B) {
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			m, _ := benchLesson(b, sz.w, sz.h)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkUpdate is one live refresh: a new observation arriving.
func BenchmarkUpdate(b *testing.B) {
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(b *testing.B) {
			m, msg := benchLesson(b, sz.w, sz.h)
			b.ReportAllocs()
			for b.Loop() {
				m.observing = true
				m, _ = m.Update(msg)
			}
		})
	}
}

// BenchmarkFocusedView is the processes view whole: 301 rows.
func BenchmarkFocusedView(b *testing.B) {
	m, _ := benchLesson(b, 120, 40)
	m, _ = m.Update(tea.KeyPressMsg{Code: '3', Text: "3"})
	if m.focus != 3 {
		b.Fatalf("focus %d", m.focus)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkHomeView is the lesson list.
func BenchmarkHomeView(b *testing.B) {
	h := NewHome(asciiStyles(), fakeLessons(), nil).SetSize(80, 24).SetProgress(lessons.NewProgress())
	b.ReportAllocs()
	for b.Loop() {
		_ = h.View()
	}
}

// TestFirstFrame: the first frame of a lesson screen, from nothing, takes
// well under 100 ms.
func TestFirstFrame(t *testing.T) {
	start := time.Now()
	c := appConfig{ctx: context.Background(), styles: common.NewStyles(true, true), lessons: fakeLessons(),
		newSession: func(l lessons.Lesson) LessonSession { return newFakeSession(l) }}
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
