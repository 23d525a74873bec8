// Package statusbar is the two lines under a screen: one line of status
// (information or an error) and the keys help (bubbles/help), short or
// full.
//
// It shows what it is given; it keeps no lesson state and does no IO.
package statusbar

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the status bar's own key: the full help.
type KeyMap struct {
	Help key.Binding
}

// DefaultKeyMap is the default status bar key.
func DefaultKeyMap() KeyMap {
	return KeyMap{Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help"))}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Help} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Model is the status line and the help.
type Model struct {
	KeyMap KeyMap
	common common.Common
	help   help.Model
	keys   help.KeyMap
	text   string
	isErr  bool
	drawn  string // the help, drawn when the keys, width or styles change
	// drawnFor is what drawn was drawn for: the keys shown, the width, the
	// styles. Every layout hands the keys again; the same ones are not
	// drawn again.
	drawnFor helpInputs
	view     string // the status line and the help, drawn by the setters
}

// helpInputs is everything the help's drawing depends on.
type helpInputs struct {
	keys   string // helpKeys
	width  int
	styles *common.Styles
	all    bool
}

// New is an empty status bar.
func New(c common.Common) Model {
	return Model{KeyMap: DefaultKeyMap(), common: c, help: c.Styles.NewHelp()}
}

// SetSize sets the width (the height follows the help).
func (m Model) SetSize(w, h int) Model {
	m.common = m.common.SetSize(w, h)
	m.help.SetWidth(w)
	return m.draw()
}

// SetStyles redraws the bar with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	m.help.Styles = st.Help
	m.view = "" // the status line too
	return m.draw()
}

// SetKeys sets the keys the help shows.
func (m Model) SetKeys(k help.KeyMap) Model {
	m.keys = k
	return m.draw()
}

// SetStatus shows a line of information, or an error.
func (m Model) SetStatus(text string, isErr bool) Model {
	if text == m.text && isErr == m.isErr && m.view != "" {
		return m
	}
	m.text, m.isErr = text, isErr
	return m.drawView()
}

// Status is the line shown and whether it is an error.
func (m Model) Status() (string, bool) { return m.text, m.isErr }

// ShowingAll reports whether the full help is shown.
func (m Model) ShowingAll() bool { return m.help.ShowAll }

// Update toggles the full help on its key.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, m.KeyMap.Help) {
		m.help.ShowAll = !m.help.ShowAll
	}
	return m.draw(), nil
}

func (m Model) draw() Model {
	in := helpInputs{width: m.common.Width, styles: m.common.Styles, all: m.help.ShowAll}
	if m.keys != nil {
		in.keys = helpKeys(m.keys, m.help.ShowAll)
	}
	if in == m.drawnFor && m.view != "" {
		return m
	}
	m.drawnFor = in
	m.drawn = ""
	if m.keys != nil {
		m.drawn = common.FitLines(m.help.View(m.keys), m.common.Width)
	}
	return m.drawView()
}

// helpKeys is what the help shows of k: every enabled binding's key and
// description, in order (bubbles/help draws the enabled ones alone).
func helpKeys(k help.KeyMap, all bool) string {
	var b strings.Builder
	add := func(bs []key.Binding) {
		for _, x := range bs {
			if x.Enabled() {
				h := x.Help()
				b.WriteString(h.Key)
				b.WriteByte(0)
				b.WriteString(h.Desc)
				b.WriteByte(1)
			}
		}
		b.WriteByte(2)
	}
	if all {
		for _, g := range k.FullHelp() {
			add(g)
		}
	} else {
		add(k.ShortHelp())
	}
	return b.String()
}

// HelpView is the help alone, cut to the width.
func (m Model) HelpView() string { return m.drawn }

// Height is how many lines View draws.
func (m Model) Height() int { return 1 + strings.Count(m.HelpView(), "\n") + 1 }

// View is the status line, then the help.
func (m Model) View() string {
	if m.view == "" {
		return m.drawView().view
	}
	return m.view
}

func (m Model) drawView() Model {
	st, w := m.common.Styles, m.common.Width
	status := ""
	switch {
	case m.text == "":
	case m.isErr:
		status = st.Error.Render(common.Truncate(common.SymFail+" "+m.text, w))
	default:
		status = st.Subtle.Render(common.Truncate(m.text, w))
	}
	m.view = status + "\n" + m.HelpView()
	return m
}
