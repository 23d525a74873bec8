// Package partbar is the lesson's step bar: the seven parts with the
// current one marked, and the part titles' one home in the ui.
//
// It draws; it does not move between parts (the lesson page asks the
// session) and it does no IO.
package partbar

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the keys that move between parts.
type KeyMap struct {
	Next, Prev key.Binding
}

// DefaultKeyMap is the default part keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next: key.NewBinding(key.WithKeys("n", "right"), key.WithHelp("n/→", "next part")),
		Prev: key.NewBinding(key.WithKeys("p", "left"), key.WithHelp("p/←", "prev part")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Next, k.Prev} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Model is the step bar.
type Model struct {
	KeyMap KeyMap
	common common.Common
	index  int
	drawn  string // View, drawn by the setters
}

// New is a step bar at the first part.
func New(c common.Common) Model {
	return Model{KeyMap: DefaultKeyMap(), common: c}.draw()
}

// SetSize sets the width the bar draws in (it is one line high).
func (m Model) SetSize(w, h int) Model {
	if w == m.common.Width && h == m.common.Height {
		return m
	}
	m.common = m.common.SetSize(w, h)
	return m.draw()
}

// SetStyles redraws the bar with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	return m.draw()
}

// SetIndex marks part i (in lessons.Parts order) as current.
func (m Model) SetIndex(i int) Model {
	m.index = i
	return m.draw()
}

// Index is the current part's index.
func (m Model) Index() int { return m.index }

// Part is the current part.
func (m Model) Part() lessons.Part {
	parts := lessons.Parts()
	return parts[min(max(m.index, 0), len(parts)-1)]
}

// Update takes no message: the page moves the parts, because a key's
// effect must land before the next key is read.
func (m Model) Update(tea.Msg) (Model, tea.Cmd) { return m, nil }

// View is the bar: every part, done ones and the current one marked; when
// they do not fit, "part i/7: NAME".
func (m Model) View() string { return m.drawn }

func (m Model) draw() Model {
	m.drawn = m.render()
	return m
}

func (m Model) render() string {
	st, w := m.common.Styles, m.common.Width
	parts := lessons.Parts()
	var b strings.Builder
	plain := 0
	for i, p := range parts {
		if i > 0 {
			b.WriteString(st.Rule.Render(" › "))
			plain += 3
		}
		name := string(p)
		switch {
		case i == m.index:
			name = "[" + strings.ToUpper(name) + "]"
			b.WriteString(st.Current.Render(name))
		case i < m.index:
			b.WriteString(st.Done.Render(name))
		default:
			b.WriteString(st.Subtle.Render(name))
		}
		plain += len(name)
	}
	if plain <= w {
		return b.String()
	}
	return st.Current.Render(common.Truncate(fmt.Sprintf("part %d/%d: %s", m.index+1, len(parts), strings.ToUpper(string(m.Part()))), w))
}
