package home

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/internal/uitest"
)

// TestGolden: the list with progress and a lock, the cursor moved by
// keys, and the selected lesson's summary; enter asks to open it.
func TestGolden(t *testing.T) {
	p := lessons.NewProgress()
	p.Mark("overview", lessons.StatusDone, lessons.PartRecap)
	m := New(common.New(context.Background(), common.NewStyles(true, true)), uitest.Lessons(), map[string]string{"net": "needs root"}).
		SetSize(70, 16).SetProgress(p)
	for range 2 {
		m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	}
	screen := ansi.Strip(m.View())
	for _, want := range []string{"1/4 done", "● done", "▸ 03 PID namespaces", "⊘", "clone(CLONE_NEWPID)"} {
		if !strings.Contains(screen, want) {
			t.Errorf("home lacks %q:\n%s", want, screen)
		}
	}
	if n := strings.Count(screen, "\n") + 1; n != 16 {
		t.Errorf("%d lines, want 16", n)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if m.Open() != "pid" {
		t.Errorf("enter asked to open %q, want pid", m.Open())
	}
	golden.RequireEqual(t, []byte(screen))
}

// TestScoreAndLegend: the prediction score shows beside the done count,
// at the narrowest width too, and the legend names every mark.
func TestScoreAndLegend(t *testing.T) {
	p := lessons.NewProgress()
	p.Mark("overview", lessons.StatusDone, lessons.PartRecap)
	p.RecordPrediction("overview", true)
	p.RecordPrediction("uts", false)
	for _, w := range []int{60, 100} {
		m := New(common.New(context.Background(), common.NewStyles(true, true)), uitest.Lessons(), map[string]string{"net": "needs root"}).
			SetSize(w, 16).SetProgress(p)
		screen := ansi.Strip(m.View())
		for _, want := range []string{"predictions 1/2 right · 1/4 done", "● done", "◐ in progress", "○ not started", "⊘ locked", "▸ cursor"} {
			if !strings.Contains(screen, want) {
				t.Errorf("width %d: home lacks %q:\n%s", w, want, screen)
			}
		}
	}
	// No prediction answered: no score.
	m := New(common.New(context.Background(), common.NewStyles(true, true)), uitest.Lessons(), nil).SetSize(80, 16)
	if strings.Contains(ansi.Strip(m.View()), "predictions") {
		t.Error("a score before any prediction")
	}
}

// TestSelectAfter: the lesson after a finished one is selected; the last
// stays selected.
func TestSelectAfter(t *testing.T) {
	m := New(common.New(context.Background(), common.NewStyles(true, true)), uitest.Lessons(), nil).SetSize(80, 16)
	if l, _ := m.SelectAfter("uts").Selected(); l.ID != "pid" {
		t.Errorf("after uts: %s", l.ID)
	}
	if l, _ := m.SelectAfter("net").Selected(); l.ID != "net" {
		t.Errorf("after the last: %s", l.ID)
	}
}
