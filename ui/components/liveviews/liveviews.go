// Package liveviews is the live HOST | SANDBOX comparison: every view of
// an observation in a shared area (what differs first, long lists
// counted), or one view whole and scrollable when focused. It is the one
// home of a lesson's view list.
//
// It draws the observation it is given; observing is the page's Cmd.
package liveviews

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the keys that focus a view, and scroll a focused one.
type KeyMap struct {
	Choose           key.Binding // 1-9: that view alone
	Focus, FocusBack key.Binding // tab / shift+tab: cycle; 0: all views
	Up, Down         key.Binding
	PageUp, PageDown key.Binding
}

// DefaultKeyMap is the default view keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Choose:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "choose / focus view")),
		Focus:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "views")),
		FocusBack: key.NewBinding(key.WithKeys("shift+tab", "0"), key.WithHelp("0", "all views")),
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:    key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup", "page up")),
		PageDown:  key.NewBinding(key.WithKeys("pgdown", "space", "f"), key.WithHelp("pgdn", "page down")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Focus, k.FocusBack} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Choose, k.Focus, k.FocusBack}}
}

// Model is the live views.
type Model struct {
	KeyMap  KeyMap
	common  common.Common
	prio    []sandbox.View // the lesson's own views: they get rows first
	refresh time.Duration
	wide    bool // a rule above the column header (side by side with the text)

	obs     *lessons.Observation
	compact compacted
	err     string
	waiting string

	focus        int // 0: all views; i: the i-th view alone
	full         viewport.Model
	fullW, fullH int
	// drawn: lines (or the focused view's content) match the fields. A
	// setter clears it; Draw, called once after a batch of setters,
	// draws, so that a live refresh draws once, not once per setter.
	drawn   bool
	lines   []string // the all-views area
	focused []string // the focused view's visible rows
}

// New is the views of a lesson that shows views (beside the namespace
// ids every lesson shows), refreshed every refresh.
func New(c common.Common, views []sandbox.View, refresh time.Duration) Model {
	full := viewport.New()
	full.MouseWheelEnabled = true
	return Model{KeyMap: DefaultKeyMap(), common: c, prio: views, refresh: refresh, full: full}
}

// SetSize sets the all-views area: its title line(s) and the views under
// them.
func (m Model) SetSize(w, h int) Model {
	if w == m.common.Width && h == m.common.Height {
		return m
	}
	m.common = m.common.SetSize(w, h)
	m.drawn = false
	return m
}

// SetWide says whether the area sits beside the text (a titled rule on
// top) or under it (the column header alone).
func (m Model) SetWide(wide bool) Model {
	if wide == m.wide {
		return m
	}
	m.wide = wide
	m.drawn = false
	return m
}

// SetFocusSize sets the area a focused view takes: the title line and the
// view under it.
func (m Model) SetFocusSize(w, h int) Model {
	if w == m.fullW && h == m.fullH {
		return m
	}
	m.fullW, m.fullH = w, h
	m.full.SetWidth(w)
	m.full.SetHeight(max(h-1, 1))
	m.drawn = false
	return m
}

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	m.drawn = false
	return m
}

// SetObservation shows o. An observation that shows what the last one
// showed (a live refresh where nothing changed, the common case) is kept
// without drawing anything again.
func (m Model) SetObservation(o lessons.Observation) Model {
	if m.Shows(&o) {
		m.obs = &o
		return m
	}
	m.obs, m.err = &o, ""
	m.compact = compactAll(m.obs)
	m.drawn = false
	return m
}

// Shows reports whether the views show what o would: an observation
// like the last one shown, and no error over it.
func (m Model) Shows(o *lessons.Observation) bool {
	return m.obs != nil && m.err == "" && sameShown(m.obs, o)
}

// SetError shows why the last observation failed (the last good one
// stays).
func (m Model) SetError(err string) Model {
	m.err = err
	m.drawn = false
	return m
}

// SetWaiting sets what shows before the first observation.
func (m Model) SetWaiting(s string) Model {
	if s == m.waiting {
		return m
	}
	m.waiting = s
	m.drawn = false
	return m
}

// Observed reports whether an observation is shown.
func (m Model) Observed() bool { return m.obs != nil }

// Views lists the views shown, in order: the observed ones, or before any
// observation the lesson's.
func (m Model) Views() []sandbox.View {
	if vs := observedViews(m.obs); len(vs) > 0 {
		return vs
	}
	return lessonViews(m.prio)
}

// Focus is the focused view, 1-based; 0 when all views share the area.
func (m Model) Focus() int { return m.focus }

// FocusOn focuses the n-th view (1-based; 0: all views). A view that does
// not exist is ignored.
func (m Model) FocusOn(n int) Model {
	if n < 0 || n > len(m.Views()) {
		return m
	}
	m.focus = n
	m.full.GotoTop()
	m.drawn = false
	return m.Draw()
}

// Update cycles the focus on tab and shift+tab (0: all views), and
// scrolls a focused view.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	n := len(m.Views()) + 1
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.KeyMap.Focus):
			return m.FocusOn((m.focus + 1) % n), nil
		case key.Matches(msg, m.KeyMap.FocusBack):
			if msg.String() == "0" {
				return m.FocusOn(0), nil
			}
			return m.FocusOn((m.focus + n - 1) % n), nil
		case m.focus == 0:
		case key.Matches(msg, m.KeyMap.Up):
			m.full.ScrollUp(1)
		case key.Matches(msg, m.KeyMap.Down):
			m.full.ScrollDown(1)
		case key.Matches(msg, m.KeyMap.PageUp):
			m.full.PageUp()
		case key.Matches(msg, m.KeyMap.PageDown):
			m.full.PageDown()
		}
	case tea.MouseWheelMsg:
		if m.focus > 0 {
			m.full, _ = m.full.Update(msg)
		}
	}
	if m.focus > 0 && m.drawn {
		m.focused = strings.Split(m.full.View(), "\n")
	}
	return m, nil
}

// sameShown reports whether b draws what a drew: the same rows in every
// view (the all-views area and a focused view are drawn from the diffs),
// the same namespace tree. With a joiner the third column is diffed from
// the snapshots, so a lesson with one always draws anew. Comparing costs
// a small part of drawing.
func sameShown(a, b *lessons.Observation) bool {
	if a.Joiner != nil || b.Joiner != nil {
		return false
	}
	return maps.EqualFunc(a.Diffs, b.Diffs, slices.Equal) && reflect.DeepEqual(a.Sandbox.Tree, b.Sandbox.Tree)
}

// Need is how many lines the views want in the shared area at its width
// (the title line not counted).
func (m Model) Need() int { return m.NeedAt(m.common.Width) }

// NeedAt is Need at width w.
func (m Model) NeedAt(w int) int {
	if m.obs == nil {
		return 2 // the waiting message and the list of views
	}
	n := 0
	t := tableLayout{stacked: w < sideBySideMin}
	for _, rows := range m.compact.rows {
		n++
		for _, r := range rows {
			n += t.lines(r)
		}
	}
	if m.wide {
		n++ // the column header under the rule
	}
	return n
}

// Draw draws what the setters changed: the focused view's content, or the
// shared area's lines (once per change, not in every View). With nothing
// changed it draws nothing.
func (m Model) Draw() Model {
	if m.drawn {
		return m
	}
	m.drawn = true
	if m.focus > len(m.Views()) {
		m.focus = 0
	}
	if m.focus > 0 {
		m.full.SetContent(strings.Join(focusedRows(m.common.Styles, m.obs, m.Views()[m.focus-1], m.fullW), "\n"))
		m.focused = strings.Split(m.full.View(), "\n")
		m.lines = nil
		return m
	}
	m.lines = m.allLines()
	return m
}

// allLines is the shared area: a title line, then every view.
func (m Model) allLines() []string {
	st, w, h := m.common.Styles, m.common.Width, m.common.Height
	if w <= 0 || h <= 0 {
		return nil
	}
	every := "every " + m.refresh.String()
	var table tableLayout
	if m.obs != nil {
		table = viewsTable(m.compact, w)
	}
	var out []string
	switch {
	case m.obs == nil:
		out = append(out, common.Rule(st, "live: HOST vs SANDBOX · "+every, w))
	case m.wide && m.compact.joiner:
		out = append(out, common.Rule(st, "live: HOST vs TARGET vs JOINER · "+every, w), common.Truncate(table.header(st, ""), w))
	case m.wide:
		out = append(out, common.Rule(st, "live: HOST vs SANDBOX · "+every, w), common.Truncate(table.header(st, ""), w))
	default:
		out = append(out, common.Truncate(table.header(st, "live "+m.refresh.String()), w))
	}
	rows := h - len(out)
	var views []string
	switch {
	case m.obs == nil:
		views = append(views, st.Subtle.Render(common.Truncate(m.waiting, w)))
		var names []string
		for i, v := range m.Views() {
			names = append(names, fmt.Sprintf("%d %s", i+1, Title(v)))
		}
		views = append(views, st.Subtle.Render(common.Truncate("views: "+strings.Join(names, " · "), w)))
	default:
		if m.err != "" {
			views = append(views, st.Error.Render(common.Truncate(common.SymFail+" "+m.err, w)))
		}
		views = append(views, allViews(st, m.obs, m.compact, m.prio, table, rows-len(views))...)
	}
	for len(views) < rows {
		views = append(views, "")
	}
	return append(out, views[:max(rows, 0)]...)
}

// Lines is the shared area, exactly its height.
func (m Model) Lines() []string {
	if !m.drawn {
		return m.Draw().lines
	}
	return m.lines
}

// FocusedLines is the focused view: its title, then the view, scrollable.
func (m Model) FocusedLines() []string {
	if !m.drawn {
		m = m.Draw()
	}
	st := m.common.Styles
	vs := m.Views()
	if m.focus == 0 || m.focus > len(vs) {
		return nil
	}
	t := fmt.Sprintf("view %d/%d: %s — tab next · 0 all views · ↑/↓ scroll", m.focus, len(vs), Title(vs[m.focus-1]))
	out := []string{st.Heading.Render(common.Truncate(t, m.fullW))}
	if m.obs == nil {
		return append(out, m.waiting)
	}
	return append(out, m.focused...)
}

// View is the focused view when one is, else the shared area.
func (m Model) View() string {
	if m.focus > 0 {
		return strings.Join(m.FocusedLines(), "\n")
	}
	return strings.Join(m.Lines(), "\n")
}
