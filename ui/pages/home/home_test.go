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
