// Package textpane is a scrollable pane of rendered text (bubbles
// viewport) whose last line says when more is below, and how to get it.
//
// It scrolls what it is given; what the text says is the page's. No IO.
package textpane

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the scroll keys (one map for every scrollable pane).
type KeyMap = common.ScrollKeyMap

// DefaultKeyMap is the default scroll keys.
func DefaultKeyMap() KeyMap { return common.DefaultScrollKeyMap() }

// Model is the pane.
type Model struct {
	KeyMap KeyMap
	common common.Common
	vp     viewport.Model
	// lines is the visible text, drawn when the text, size or scroll
	// changes: viewport's View measures every visible line, too much to
	// redo in every frame.
	lines []string
}

// New is an empty pane.
func New(c common.Common) Model {
	vp := viewport.New()
	vp.MouseWheelEnabled = true
	return Model{KeyMap: DefaultKeyMap(), common: c, vp: vp}
}

// SetSize sets the pane's area.
func (m Model) SetSize(w, h int) Model {
	if w == m.common.Width && h == m.common.Height && m.lines != nil {
		return m
	}
	m.common = m.common.SetSize(w, h)
	m.vp.SetWidth(w)
	m.vp.SetHeight(h)
	return m.draw()
}

// SetStyles redraws with st (the content is the caller's to redraw).
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	return m.draw()
}

// SetContent replaces the text, keeping the scroll position where it can.
func (m Model) SetContent(s string) Model {
	m.vp.SetContent(s)
	return m.draw()
}

// GotoTop scrolls to the top.
func (m Model) GotoTop() Model {
	m.vp.GotoTop()
	return m.draw()
}

// GotoBottom scrolls to the end (where an outcome is added).
func (m Model) GotoBottom() Model {
	m.vp.GotoBottom()
	return m.draw()
}

// Scroll moves the view by n lines (negative: up).
func (m Model) Scroll(n int) Model {
	if n < 0 {
		m.vp.ScrollUp(-n)
	} else {
		m.vp.ScrollDown(n)
	}
	return m.draw()
}

// Update scrolls on the scroll keys and the mouse wheel.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.KeyMap.Up):
			m.vp.ScrollUp(1)
		case key.Matches(msg, m.KeyMap.Down):
			m.vp.ScrollDown(1)
		case key.Matches(msg, m.KeyMap.PageUp):
			m.vp.PageUp()
		case key.Matches(msg, m.KeyMap.PageDown):
			m.vp.PageDown()
		}
	case tea.MouseWheelMsg:
		m.vp, _ = m.vp.Update(msg)
	}
	return m.draw(), nil
}

// Lines is the visible text, its last line saying when there is more.
func (m Model) Lines() []string { return m.lines }

func (m Model) draw() Model {
	m.lines = m.render()
	return m
}

func (m Model) render() []string {
	lines := strings.Split(m.vp.View(), "\n")
	if m.vp.TotalLineCount() > m.vp.Height() && !m.vp.AtBottom() && len(lines) > 1 {
		more := fmt.Sprintf("  ↓ more: j/k, pgdn, wheel (%d%%)", int(m.vp.ScrollPercent()*100))
		lines[len(lines)-1] = m.common.Styles.Subtle.Render(common.Truncate(more, m.vp.Width()))
	}
	return lines
}

// View is Lines joined.
func (m Model) View() string { return strings.Join(m.Lines(), "\n") }
