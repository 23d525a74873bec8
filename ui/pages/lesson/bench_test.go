package lesson

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/internal/uitest"
)

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}}

// benchLesson is a lesson page at w x h after Perform, on the Observe
// part, with a realistic observation: 300 host processes, 100 mounts.
func benchLesson(b *testing.B, w, h int) (Model, ObservedMsg) {
	b.Helper()
	s := uitest.NewSession(uitest.Lessons()[1])
	o := uitest.Observation(300, 100)
	s.SetObservation(o)
	if err := s.Perform(context.Background()); err != nil {
		b.Fatal(err)
	}
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c, 1, s, time.Second).SetSize(w, h)
	for range 3 {
		m, _ = m.move(true)
	}
	msg := ObservedMsg{Screen: common.Screen{ID: 1}, Obs: o, Facts: s.Facts(o), Events: s.Events()}
	m, _ = m.Update(msg)
	if !m.Observed() {
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
				m, _ = m.Update(msg)
			}
		})
	}
}

// BenchmarkFocusedView is the processes view whole: 301 rows.
func BenchmarkFocusedView(b *testing.B) {
	m, _ := benchLesson(b, 120, 40)
	m, _ = m.Update(tea.KeyPressMsg{Code: '3', Text: "3"})
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}
