// Package challenge is the Challenge part: the task, the check's state
// and result, the hints taken one by one, and the solution behind a
// confirmation.
//
// It records what the learner asked for; running the check or applying
// the solution is the page's Cmd. No IO.
package challenge

import (
	"strings"

	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/confirm"
)

// KeyMap is the challenge's keys.
type KeyMap struct {
	Check, Hint, Solution key.Binding
}

// DefaultKeyMap is the default challenge keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Check:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "check challenge")),
		Hint:     key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "hint")),
		Solution: key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "solution")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Check, k.Hint, k.Solution} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Question is what the solution key asks.
const Question = "Show the solution and apply it in the sandbox? y/n"

// Result is a check's outcome.
type Result struct {
	OK     bool
	Detail string
	Err    error
}

// Model is the challenge.
type Model struct {
	KeyMap   KeyMap
	Confirm  confirm.Model // the solution's question
	common   common.Common
	task     string
	hints    []string
	solution []string
	shown    int // hints shown
	solved   bool
	revealed bool // the solution was shown
	checking bool
	result   *Result
}

// New is a challenge with its task, hints and solution lines.
func New(c common.Common, task string, hints, solution []string) Model {
	return Model{KeyMap: DefaultKeyMap(), Confirm: confirm.New(c), common: c, task: task, hints: hints, solution: solution}
}

// SetSize sets the width it wraps to.
func (m Model) SetSize(w, h int) Model {
	m.common = m.common.SetSize(w, h)
	m.Confirm = m.Confirm.SetSize(w, h)
	return m
}

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	m.Confirm = m.Confirm.SetStyles(st)
	return m
}

// Hint shows the next hint; false when none is left.
func (m Model) Hint() (Model, bool) {
	if m.shown >= len(m.hints) {
		return m, false
	}
	m.shown++
	return m, true
}

// HintsUsed is how many hints were shown.
func (m Model) HintsUsed() int { return m.shown }

// AskSolution opens the confirmation before the solution.
func (m Model) AskSolution() Model {
	m.Confirm = m.Confirm.Ask(Question)
	return m
}

// Reveal shows the solution.
func (m Model) Reveal() Model {
	m.revealed = true
	return m
}

// SetChecking says a check is running.
func (m Model) SetChecking(c bool) Model {
	m.checking = c
	return m
}

// Checking reports whether a check is running.
func (m Model) Checking() bool { return m.checking }

// SetResult records a check's result.
func (m Model) SetResult(r Result) Model {
	m.checking = false
	m.result = &r
	if r.OK && r.Err == nil {
		m.solved = true
	}
	return m
}

// Solved reports whether a check passed.
func (m Model) Solved() bool { return m.solved }

// Update passes keys to the open confirmation; the challenge's own keys
// are the page's to act on (they start Cmds).
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	m.Confirm, cmd = m.Confirm.Update(msg)
	return m, cmd
}

// Lines is the task, the check's state, the hints shown, the solution if
// revealed, the open question, and the keys left.
func (m Model) Lines() []string {
	st, w := m.common.Styles, m.common.Width
	var b []string
	add := func(s string) { b = append(b, common.Inline(st, s, w)...) }
	styled := func(s string, style func(...string) string) {
		for _, l := range common.WrapPlain(s, w) {
			b = append(b, style(l))
		}
	}
	if m.task != "" {
		add("**Task:** " + m.task)
	}
	b = append(b, "")
	switch {
	case m.checking:
		add("… checking the kernel's state")
	case m.result == nil:
		add("Not checked yet: solve it in the shell (s), then press c.")
	case m.result.Err != nil:
		styled(common.SymFail+" check failed: "+m.result.Err.Error(), st.Error.Render)
	case m.result.OK:
		styled(common.SymOK+" Solved: "+m.result.Detail, st.Done.Render)
	default:
		styled(common.SymFail+" Not yet: "+m.result.Detail, st.Warn.Render)
	}
	for i := 0; i < m.shown && i < len(m.hints); i++ {
		add(fmt.Sprintf("**Hint %d:** %s", i+1, m.hints[i]))
	}
	if m.revealed {
		add("**Solution:**")
		for _, s := range m.solution {
			b = append(b, "  "+st.Code.Render(common.Truncate(s, w-2)))
		}
	}
	b = append(b, m.Confirm.Lines()...)
	keys := "c check"
	if left := len(m.hints) - m.shown; left > 0 {
		keys += fmt.Sprintf(" · h hint (%d left)", left)
	}
	if !m.revealed {
		keys += " · v solution"
	}
	return append(b, st.Subtle.Render(common.Truncate(keys, w)))
}

// View is Lines joined.
func (m Model) View() string { return strings.Join(m.Lines(), "\n") }
