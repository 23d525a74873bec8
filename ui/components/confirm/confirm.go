// Package confirm is a yes/no question that holds the keys until it is
// answered (the challenge's "show the solution?").
//
// It asks and records the answer; the page acts on it. No IO.
package confirm

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the answer keys.
type KeyMap struct {
	Yes, No key.Binding
}

// DefaultKeyMap is the default answer keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Yes: key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:  key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n", "no")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Yes, k.No} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Answer is the state of the question.
type Answer int

// The answers.
const (
	Unasked Answer = iota // no question open
	Asking                // open, waiting for y or n
	Yes
	No
)

// Model is the question.
type Model struct {
	KeyMap   KeyMap
	common   common.Common
	question string
	answer   Answer
}

// New is a closed question.
func New(c common.Common) Model { return Model{KeyMap: DefaultKeyMap(), common: c} }

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

// Ask opens the question.
func (m Model) Ask(q string) Model {
	m.question, m.answer = q, Asking
	return m
}

// Asking reports whether the question waits for its answer.
func (m Model) Asking() bool { return m.answer == Asking }

// Answer is the answer so far; Yes or No once given.
func (m Model) Answer() Answer { return m.answer }

// Question is the question asked.
func (m Model) Question() string { return m.question }

// Update takes y or n while asking; other keys are ignored until then.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || m.answer != Asking {
		return m, nil
	}
	switch {
	case key.Matches(k, m.KeyMap.Yes):
		m.answer = Yes
	case key.Matches(k, m.KeyMap.No):
		m.answer = No
	}
	return m, nil
}

// Lines is the open question, wrapped; nothing when none is open.
func (m Model) Lines() []string {
	if m.answer != Asking {
		return nil
	}
	st := m.common.Styles
	var out []string
	for _, l := range common.WrapPlain(m.question, m.common.Width) {
		out = append(out, st.Warn.Render(l))
	}
	return out
}

// View is Lines joined.
func (m Model) View() string { return strings.Join(m.Lines(), "\n") }
