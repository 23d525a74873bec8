package lesson

import (
	"context"
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/shellpane"
	"github.com/nslab/nslab/ui/internal/uitest"
)

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}}

// benchLesson is a lesson page at w x h after Perform, on the Observe
// part, with a realistic observation: 300 host processes, 100 mounts.
func benchLesson(b testing.TB, w, h int) (Model, ObservedMsg) {
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

// benchShell is benchLesson on the Experiment part with the shell pane
// open (a Fake term with a prompt) and the views live: what a learner of
// a class has on screen while typing.
func benchShell(b testing.TB, w, h int) (Model, ObservedMsg, *shellpane.Term) {
	b.Helper()
	m, msg := benchLesson(b, w, h)
	m, _ = m.move(true)
	pw, ph := shellpane.ScreenSize(m.paneSize())
	t := shellpane.Fake(pw, ph, benchPrompt)
	m, _ = m.Update(shellpane.StartedMsg{Term: t})
	if !m.ShellOpen() {
		b.Fatal("the pane did not open")
	}
	return m, msg, t
}

const benchPrompt = "\x1b[1;32m[nslab:uts]\x1b[0m root@sandbox:~# hostname lab\r\n\x1b[1;32m[nslab:uts]\x1b[0m root@lab:~# "

// BenchmarkShellFrame is the per-frame cost of a learner typing in the
// shell pane with the views live: "key" is one keystroke's echo (the
// shell writes, the page updates and draws), "refresh" one live refresh
// that observed nothing new, "idle" one View with nothing changed.
func BenchmarkShellFrame(b *testing.B) {
	for _, sz := range sizes {
		b.Run(fmt.Sprintf("key/%dx%d", sz.w, sz.h), func(b *testing.B) {
			m, _, t := benchShell(b, sz.w, sz.h)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Typing and erasing, as BenchmarkClassLoad does.
				if i%2 == 0 {
					t.Feed("Q")
				} else {
					t.Feed("\b \b")
				}
				i++
				m, _ = m.Update(shellpane.OutputMsg{Term: t})
				_ = m.View()
			}
		})
		b.Run(fmt.Sprintf("refresh/%dx%d", sz.w, sz.h), func(b *testing.B) {
			m, msg, _ := benchShell(b, sz.w, sz.h)
			msg.Live, msg.Gen = true, m.tickGen
			b.ReportAllocs()
			for b.Loop() {
				m, _ = m.Update(msg)
				_ = m.View()
			}
		})
		b.Run(fmt.Sprintf("idle/%dx%d", sz.w, sz.h), func(b *testing.B) {
			m, _, _ := benchShell(b, sz.w, sz.h)
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}
