// Package syscalllog draws the trace: every namespace syscall as strace
// writes it, with the identity change it made and nslab's note.
//
// It draws the events it is given; fetching them is the page's Cmd. In
// the live column it shows the last calls, one line each; focused, it
// takes the page's body as a viewport over every event, each call, its
// identity change and its note wrapped whole.
package syscalllog

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	xansi "github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the log's keys: Focus opens it whole; while focused the
// viewport's keys scroll it.
type KeyMap = common.WholeKeyMap

// DefaultKeyMap is the log's default keys.
func DefaultKeyMap() KeyMap { return common.NewWholeKeyMap("l", "syscall log") }

// Model is the log.
type Model struct {
	KeyMap KeyMap
	common common.Common
	events []sandbox.Event
	lines  []string // drawn by every setter, not in every View

	focused bool
	vp      viewport.Model // every event, wrapped, when focused
	fw, fh  int            // the focused area, title included
}

// New is an empty log.
func New(c common.Common) Model {
	return Model{KeyMap: DefaultKeyMap(), common: c, vp: viewport.New()}
}

// Focused reports whether the log is open whole.
func (m Model) Focused() bool { return m.focused }

// SetFocus opens the log whole (at its end) or closes it.
func (m Model) SetFocus(f bool) Model {
	m.focused = f
	m = m.fill()
	if f {
		m.vp.GotoBottom()
	}
	return m
}

// SetFocusSize sets the area the focused log takes, its title included.
func (m Model) SetFocusSize(w, h int) Model {
	if w == m.fw && h == m.fh {
		return m
	}
	m.fw, m.fh = w, h
	return m.fill()
}

// fill puts every event, wrapped, in the viewport, keeping the place
// (or the end, when the reader was at it).
func (m Model) fill() Model {
	if !m.focused || m.fw <= 0 || m.fh <= 1 {
		return m
	}
	atEnd := m.vp.AtBottom() || m.vp.TotalLineCount() == 0
	m.vp.SetWidth(m.fw)
	m.vp.SetHeight(m.fh - 1)
	m.vp.SetContentLines(Wrapped(m.common.Styles, m.events, m.fw))
	if atEnd {
		m.vp.GotoBottom()
	}
	return m
}

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
	return m.draw().fill()
}

// SetEvents replaces the trace. The same trace again (every live refresh
// brings the whole trace) draws nothing.
func (m Model) SetEvents(ev []sandbox.Event) Model {
	if m.lines != nil && Same(ev, m.events) {
		m.events = ev
		return m
	}
	m.events = ev
	return m.draw().fill()
}

// Same reports whether two traces are drawn alike: the same events, every
// field equal. (reflect.DeepEqual over a whole trace at every refresh
// cost more than drawing it.)
func Same(a, b []sandbox.Event) bool { return slices.EqualFunc(a, b, sameEvent) }

func sameEvent(a, b sandbox.Event) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Syscall == b.Syscall && slices.Equal(a.Args, b.Args) &&
		a.Ret == b.Ret && a.Errno == b.Errno && a.PID == b.PID && a.TID == b.TID && a.NSPID == b.NSPID && a.NSTID == b.NSTID &&
		a.Learner == b.Learner && a.Comm == b.Comm && a.Kind == b.Kind && a.Before == b.Before && a.After == b.After && a.Note == b.Note
}

// Len is how many events the log holds.
func (m Model) Len() int { return len(m.events) }

// Update scrolls the focused log with keys and the wheel.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if !m.focused {
		return m, nil
	}
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch msg.String() {
		case "home", "g":
			m.vp.GotoTop()
			return m, nil
		case "end", "G":
			m.vp.GotoBottom()
			return m, nil
		}
	}
	var cmd tea.Cmd
	m.vp, cmd = m.vp.Update(msg)
	return m, cmd
}

// FocusedLines is the log whole: a title saying where the reader is and
// how much is above and below, then the viewport.
func (m Model) FocusedLines() []string {
	st := m.common.Styles
	total, h := m.vp.TotalLineCount(), m.vp.Height()
	top := m.vp.YOffset()
	above, below := top, max(total-top-h, 0)
	title := fmt.Sprintf("syscall log: %d calls, lines %d–%d of %d", len(m.events), min(top+1, total), min(top+h, total), total)
	if above > 0 {
		title += fmt.Sprintf(" ↑%d more", above)
	}
	if below > 0 {
		title += fmt.Sprintf(" ↓%d more", below)
	}
	title += " — l/esc back"
	out := []string{common.Rule(st, title, m.fw)}
	out = append(out, strings.Split(m.vp.View(), "\n")...)
	for len(out) < m.fh {
		out = append(out, "")
	}
	return out[:m.fh]
}

// Wrapped is every event, strace-like, wrapped to width: the call (a
// long flag list breaks at its |), its identity change and its note.
func Wrapped(st *common.Styles, events []sandbox.Event, width int) []string {
	if len(events) == 0 {
		return []string{st.Subtle.Render("(no syscalls yet: they appear here as the lesson performs them)")}
	}
	const indent = "      "
	wrap := func(s string, style func(...string) string) []string {
		var out []string
		for i, l := range strings.Split(xansi.Wrap(s, max(width-len(indent), 10), "|, "), "\n") {
			if i > 0 {
				l = indent + l
			}
			out = append(out, style(l))
		}
		return out
	}
	plain := func(s ...string) string { return strings.Join(s, " ") }
	var lines []string
	for _, e := range events {
		style := plain
		if e.Errno != "" {
			style = st.Error.Render
		}
		lines = append(lines, wrap(Who(e)+" "+e.String(), style)...)
		if d := e.Detail(); d != "" {
			lines = append(lines, wrap("    ↳ "+d, st.Subtle.Render)...)
		}
		if e.Note != "" {
			lines = append(lines, wrap("    # "+e.Note, st.Subtle.Render)...)
		}
	}
	return lines
}

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
	h := m.common.Height - 1
	body := Render(st, m.events, w, h)
	title := fmt.Sprintf("syscalls (%d)", len(m.events))
	if shown := calls(body); shown < len(m.events) {
		title += fmt.Sprintf(" ↑%d earlier", len(m.events)-shown)
	}
	if len(m.events) > 0 {
		title += " (l: all)"
	}
	title += fmt.Sprintf(" ─── %s differs %s only sandbox %s only host", common.SymChanged, common.SymOnlySB, common.SymOnlyHost)
	out := []string{common.Rule(st, title, w)}
	out = append(out, body...)
	for len(out) < m.common.Height {
		out = append(out, "")
	}
	return out
}

// Who is the caller as the log names it: the learner's own calls (from
// their shell) say so, with the command that made them.
func Who(e sandbox.Event) string {
	if !e.Learner {
		return e.Who()
	}
	who := "[you"
	if e.Comm != "" {
		who += ": " + e.Comm
	}
	return who + ", " + strings.TrimPrefix(e.Who(), "[")
}

// calls counts the call lines (not the details and notes) Render drew.
func calls(lines []string) int {
	n := 0
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimLeft(xansi.Strip(l), " "), "↳") && !strings.HasPrefix(strings.TrimLeft(xansi.Strip(l), " "), "#") {
			n++
		}
	}
	return n
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
			call := common.Truncate(Who(e)+" "+e.String(), width)
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
