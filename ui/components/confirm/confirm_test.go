package confirm

import (
	"context"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/ui/common"
)

func press(s string) tea.KeyPressMsg {
	if s == "esc" {
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	}
	return tea.KeyPressMsg{Code: rune(s[0]), Text: s}
}

// TestAnswers: only y and n (or esc) answer; other keys wait.
func TestAnswers(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true)).SetSize(30, 2)
	for _, tc := range []struct {
		keys []string
		want Answer
	}{
		{[]string{"x", "c"}, Asking},
		{[]string{"x", "y"}, Yes},
		{[]string{"n"}, No},
		{[]string{"esc"}, No},
		{[]string{"y", "n"}, Yes}, // answered once
	} {
		m := New(c).Ask("Show the solution?")
		for _, k := range tc.keys {
			m, _ = m.Update(press(k))
		}
		if m.Answer() != tc.want {
			t.Errorf("%v: answer %v, want %v", tc.keys, m.Answer(), tc.want)
		}
	}
	if m, _ := New(c).Update(press("y")); m.Answer() != Unasked {
		t.Error("y answered a question never asked")
	}
}

func TestGolden(t *testing.T) {
	c := common.New(context.Background(), common.NewStyles(true, true))
	m := New(c).SetSize(30, 2).Ask("Show the solution and apply it in the sandbox? y/n")
	out := ansi.Strip(m.View())
	if len(m.Lines()) != 2 {
		t.Errorf("not wrapped to 30:\n%s", out)
	}
	golden.RequireEqual(t, []byte(out))
}
