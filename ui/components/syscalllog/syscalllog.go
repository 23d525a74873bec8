// Package syscalllog draws the trace: every namespace syscall as strace
// writes it, with the identity change it made and nslab's note.
//
// It draws the events it is given; fetching them is the page's Cmd. It
// takes no keys yet: focusing and scrolling it is issue 10 D, and will be
// a viewport here behind the same SetEvents.
package syscalllog

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the log's keys: none until it can be focused.
type KeyMap struct{}

// ShortHelp implements help.KeyMap.
func (KeyMap) ShortHelp() []key.Binding { return nil }

// FullHelp implements help.KeyMap.
func (KeyMap) FullHelp() [][]key.Binding { return nil }

// Model is the log.
type Model struct {
	KeyMap KeyMap
	common common.Common
	events []sandbox.Event
	lines  []string // drawn by every setter, not in every View
}

// New is an empty log.
func New(c common.Common) Model { return Model{common: c} }

// SetSize sets the log's area, its title line included.
func (m Model) SetSize(w, h int) Model {
	if w == m.common.Width && h == m.common.Height && m.lines != nil {
		return m
	}
	m.common = m.common.SetSize(w, h)
	return m.draw()
}

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	return m.draw()
}

// SetEvents replaces the trace.
func (m Model) SetEvents(ev []sandbox.Event) Model {
	m.events = ev
	return m.draw()
}

// Len is how many events the log holds.
func (m Model) Len() int { return len(m.events) }

// Update takes no message yet.
func (m Model) Update(tea.Msg) (Model, tea.Cmd) { return m, nil }

// Lines is the title line, then the last events in the rest of the
// height, padded to it.
func (m Model) Lines() []string { return m.lines }

// View is Lines joined.
func (m Model) View() string { return strings.Join(m.Lines(), "\n") }

func (m Model) draw() Model {
	m.lines = m.render()
	return m
}

func (m Model) render() []string {
	st, w := m.common.Styles, m.common.Width
	if w <= 0 || m.common.Height <= 0 {
		return nil
	}
	title := fmt.Sprintf("syscalls (%d) ─── %s differs %s only sandbox %s only host", len(m.events), common.SymChanged, common.SymOnlySB, common.SymOnlyHost)
	out := []string{common.Rule(st, title, w)}
	h := m.common.Height - 1
	out = append(out, Render(st, m.events, w, h)...)
	for len(out) < m.common.Height {
		out = append(out, "")
	}
	return out
}

// Render draws the last events strace-like, in height lines. When space
// is short the notes go first, then the identity changes: the calls
// themselves stay.
func Render(st *common.Styles, events []sandbox.Event, width, height int) []string {
	if height <= 0 {
		return nil
	}
	if len(events) == 0 {
		return []string{st.Subtle.Render(common.Truncate("(no syscalls yet: they appear here as the lesson performs them)", width))}
	}
	build := func(details, notes bool) []string {
		var lines []string
		for _, e := range events {
			call := common.Truncate(e.Who()+" "+e.String(), width)
			if e.Errno != "" {
				call = st.Error.Render(call)
			}
			lines = append(lines, call)
			if d := e.Detail(); details && d != "" {
				lines = append(lines, st.Subtle.Render(common.Truncate("    ↳ "+d, width)))
			}
			if notes && e.Note != "" {
				lines = append(lines, st.Subtle.Render(common.Truncate("    # "+e.Note, width)))
			}
		}
		return lines
	}
	lines := build(true, true)
	if len(lines) > height {
		lines = build(true, false)
	}
	if len(lines) > height {
		lines = build(false, false)
	}
	if len(lines) > height {
		lines = lines[len(lines)-height:]
	}
	return lines
}
