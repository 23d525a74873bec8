// Package prediction is the Predict part's question: its choices, a
// cursor, the learner's locked-in choice and, after Perform, the
// kernel's verdict.
//
// It records the choice; asking the lesson for the verdict is the page's
// Cmd. No IO.
package prediction

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the keys that choose.
type KeyMap struct {
	Up, Down key.Binding
	Choose   key.Binding // 1-9
	Enter    key.Binding // the choice under the cursor
}

// DefaultKeyMap is the default choosing keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Choose: key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "choose")),
		Enter:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Choose} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Choose, k.Up, k.Down, k.Enter}}
}

// Verdict is the kernel's answer to a prediction.
type Verdict struct {
	Choice  int // the learner's, 0-based
	Correct bool
	Right   int // the right choice, 0-based (-1: none)
	Why     string
}

// Model is the question.
type Model struct {
	KeyMap   KeyMap
	common   common.Common
	question string
	choices  []string
	cursor   int
	choice   int // -1: none yet
	verdict  *Verdict
}

// New is a question with its choices, none chosen.
func New(c common.Common, question string, choices []string) Model {
	return Model{KeyMap: DefaultKeyMap(), common: c, question: question, choices: choices, choice: -1}
}

// SetSize sets the width the question wraps to.
func (m Model) SetSize(w, h int) Model {
	m.common = m.common.SetSize(w, h)
	return m
}

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	return m
}

// Asks reports whether there is a question at all.
func (m Model) Asks() bool { return m.question != "" && len(m.choices) > 0 }

// Open reports whether the question still waits for a choice to be
// judged: it asks, and has no verdict.
func (m Model) Open() bool { return m.Asks() && m.verdict == nil }

// Choice is the learner's choice (0-based), -1 before one.
func (m Model) Choice() int { return m.choice }

// Choose locks in choice n (0-based); false when there is no such choice.
func (m Model) Choose(n int) (Model, bool) {
	if n < 0 || n >= len(m.choices) {
		return m, false
	}
	m.choice, m.cursor = n, n
	return m, true
}

// Cursor is the choice under the cursor.
func (m Model) Cursor() int { return m.cursor }

// SetVerdict records the kernel's verdict.
func (m Model) SetVerdict(v Verdict) Model {
	m.verdict = &v
	return m
}

// Verdict is the verdict, if any.
func (m Model) Verdict() (Verdict, bool) {
	if m.verdict == nil {
		return Verdict{}, false
	}
	return *m.verdict, true
}

// Update moves the cursor while the question is open. Choosing (a digit,
// enter) is the page's: it also asks for the verdict.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || !m.Open() {
		return m, nil
	}
	n := len(m.choices)
	switch {
	case key.Matches(k, m.KeyMap.Up):
		m.cursor = (m.cursor + n - 1) % n
	case key.Matches(k, m.KeyMap.Down):
		m.cursor = (m.cursor + 1) % n
	}
	return m, nil
}

// Lines is the question, its choices, and what to do next (or the verdict).
func (m Model) Lines() []string {
	st, w := m.common.Styles, m.common.Width
	if !m.Asks() {
		return common.Inline(st, "(This lesson asks no question here: press n.)", w)
	}
	var b []string
	for _, l := range common.WrapPlain(m.question, w) {
		b = append(b, st.Bold.Render(l))
	}
	for i, c := range m.choices {
		cur := "  "
		if m.Open() && i == m.cursor {
			cur = common.SymCursor + " "
		}
		mark := ""
		if i == m.choice {
			mark = "  ← your prediction"
		}
		prefix := fmt.Sprintf("%s%d) ", cur, i+1)
		for j, l := range common.WrapPlain(c+mark, w-common.Width(prefix)) {
			if j == 0 {
				l = prefix + l
			} else {
				l = strings.Repeat(" ", common.Width(prefix)) + l
			}
			if i == m.choice || (m.Open() && i == m.cursor) {
				l = st.Selected.Render(l)
			}
			b = append(b, l)
		}
	}
	b = append(b, "")
	switch {
	case m.verdict != nil:
		b = append(b, m.VerdictLines()...)
	case m.choice >= 0:
		b = append(b, common.Inline(st, "Locked in. Press n to go on to Perform; the kernel decides.", w)...)
	default:
		b = append(b, common.Inline(st, fmt.Sprintf("Choose with 1-%d, or ↑/↓ and enter.", len(m.choices)), w)...)
	}
	return b
}

// VerdictLines is the verdict alone, for the parts after Predict; nothing
// before one.
func (m Model) VerdictLines() []string {
	if m.verdict == nil {
		return nil
	}
	st, w := m.common.Styles, m.common.Width
	v := m.verdict
	var b []string
	styled := func(s string, style func(...string) string) {
		for _, l := range common.WrapPlain(s, w) {
			b = append(b, style(l))
		}
	}
	if v.Correct {
		styled(fmt.Sprintf("%s Your prediction (%d) was right.", common.SymOK, v.Choice+1), st.Done.Render)
	} else {
		right := ""
		if v.Right >= 0 && v.Right < len(m.choices) {
			right = fmt.Sprintf(" The kernel says %d: %s", v.Right+1, m.choices[v.Right])
		}
		styled(fmt.Sprintf("%s Your prediction (%d) was not what happened.%s", common.SymFail, v.Choice+1, right), st.Error.Render)
	}
	if v.Why != "" {
		b = append(b, common.Inline(st, v.Why, w)...)
	}
	return b
}

// View is Lines joined.
func (m Model) View() string { return strings.Join(m.Lines(), "\n") }
