package prediction

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/ui/common"
)

func newModel() Model {
	c := common.New(context.Background(), common.NewStyles(true, true))
	return New(c, `After sethostname("lab") in the sandbox, what does the host's hostname read?`,
		[]string{"lab: there is one hostname", "its old name: the sandbox changed a copy", "nothing: the call fails"}).SetSize(50, 10)
}

func view(m Model) string { return ansi.Strip(m.View()) }

// TestGolden: open with the cursor, locked in, then judged wrong and
// right.
func TestGolden(t *testing.T) {
	m := newModel()
	open := view(m)
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyUp})
	if m.Cursor() != 2 {
		t.Errorf("up from the first choice: cursor %d, want 2 (wraps)", m.Cursor())
	}
	m, _ = m.Choose(0)
	locked := view(m)
	wrong := view(m.SetVerdict(Verdict{Choice: 0, Right: 1, Why: "the sandbox reads **lab**, the host still devbox"}))
	m, _ = m.Choose(1)
	right := view(m.SetVerdict(Verdict{Choice: 1, Correct: true, Right: 1}))
	for _, c := range []struct{ screen, want string }{
		{open, "▸ 1) lab: there is one"},
		{open, "Choose with 1-3"},
		{locked, "▸ 1) lab: there is one hostname ← your prediction"},
		{locked, "Locked in."},
		{wrong, "✗ Your prediction (1) was not what happened. The"},
		{wrong, "the sandbox reads lab, the host still devbox"},
		{right, "✓ Your prediction (2) was right."},
	} {
		if !strings.Contains(c.screen, c.want) {
			t.Errorf("lacks %q:\n%s", c.want, c.screen)
		}
	}
	if strings.Contains(wrong, "▸") {
		t.Errorf("a judged question still shows a cursor:\n%s", wrong)
	}
	golden.RequireEqual(t, []byte(strings.Join([]string{open, locked, wrong, right}, "\n---\n")))
}

func TestChooseOutOfRange(t *testing.T) {
	if _, ok := newModel().Choose(3); ok {
		t.Error("chose a fourth of three choices")
	}
	none := New(common.New(context.Background(), common.NewStyles(true, true)), "", nil).SetSize(50, 5)
	if none.Asks() || !strings.Contains(view(none), "asks no question") {
		t.Errorf("no question: %q", view(none))
	}
}
