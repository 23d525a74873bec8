// Package propagation draws the live peer-group diagram of a lesson's
// mount namespaces: one column per namespace (the host's first), one
// block of rows per peer group as the kernel numbers it (shared:N), each
// mount point marked as a member of the group, a slave receiving from it
// (master:N), or, in the last block, private or unbindable.
//
// It draws the diagram it is given (sandbox.PeerDiagram, read at each
// observation); reading mount tables is the lesson's, through the page's
// observe Cmd. In the live column it shows what fits; focused, it takes
// the page's body as a scrollable viewport.
package propagation

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// The marks of a cell; every one is a symbol, so colour is never the only
// cue.
const (
	SymMember     = "●" // shared:N: a member of the row's peer group
	SymSlave      = "◁" // master:N: receives the group's events, sends none
	SymPrivate    = "○" // no propagation at all
	SymUnbindable = "⊗" // private, and may not be bound elsewhere
	SymAbsent     = "·" // that namespace has no mount there
)

// KeyMap is the diagram's keys: Focus opens it whole; while focused the
// viewport's keys scroll it.
type KeyMap = common.WholeKeyMap

// DefaultKeyMap is the diagram's default keys.
func DefaultKeyMap() KeyMap { return common.NewWholeKeyMap("m", "mount peer groups") }

// Model is the diagram.
type Model struct {
	KeyMap KeyMap
	common common.Common
	d      *sandbox.PeerDiagram
	lines  []string // the live column's lines, drawn by every setter

	focused bool
	vp      viewport.Model
	fw, fh  int // the focused area, title included
}

// New is an empty diagram.
func New(c common.Common) Model {
	return Model{KeyMap: DefaultKeyMap(), common: c, vp: viewport.New()}
}

// SetSize sets the live column's area, the title line included.
func (m Model) SetSize(w, h int) Model {
	m.common = m.common.SetSize(w, h)
	return m.draw()
}

// SetFocusSize sets the area the focused diagram takes, its title
// included.
func (m Model) SetFocusSize(w, h int) Model {
	m.fw, m.fh = w, h
	return m.fill()
}

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	return m.draw().fill()
}

// SetDiagram shows d (nil: nothing observed yet).
func (m Model) SetDiagram(d *sandbox.PeerDiagram) Model {
	m.d = d
	return m.draw().fill()
}

// Focused reports whether the diagram is open whole.
func (m Model) Focused() bool { return m.focused }

// SetFocus opens the diagram whole or closes it.
func (m Model) SetFocus(f bool) Model {
	m.focused = f
	m = m.fill()
	if f {
		m.vp.GotoTop()
	}
	return m
}

// Need is how many lines the whole diagram takes at width w, its title
// included.
func (m Model) Need(w int) int { return len(m.Rows(w)) + 1 }

// Update scrolls the focused diagram with keys and the wheel.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if !m.focused {
		return m, nil
	}
	var cmd tea.Cmd
	m.vp, cmd = m.vp.Update(msg)
	return m, cmd
}

// Lines is the title line and what fits of the diagram, padded to the
// height.
func (m Model) Lines() []string { return m.lines }

// View is Lines joined; focused, the whole diagram's viewport.
func (m Model) View() string {
	if m.focused {
		return strings.Join(m.FocusedLines(), "\n")
	}
	return strings.Join(m.Lines(), "\n")
}

// FocusedLines is the diagram whole: a title, then the viewport.
func (m Model) FocusedLines() []string {
	st := m.common.Styles
	total, h, top := m.vp.TotalLineCount(), m.vp.Height(), m.vp.YOffset()
	title := fmt.Sprintf("mount peer groups, lines %d–%d of %d", min(top+1, total), min(top+h, total), total)
	if below := max(total-top-h, 0); below > 0 {
		title += fmt.Sprintf(" ↓%d more", below)
	}
	out := []string{common.Rule(st, title+" — m/esc back", m.fw)}
	out = append(out, strings.Split(m.vp.View(), "\n")...)
	for len(out) < m.fh {
		out = append(out, "")
	}
	return out[:max(m.fh, 0)]
}

func (m Model) fill() Model {
	if !m.focused || m.fw <= 0 || m.fh <= 1 {
		return m
	}
	m.vp.SetWidth(m.fw)
	m.vp.SetHeight(m.fh - 1)
	m.vp.SetContentLines(m.Rows(m.fw))
	return m
}

func (m Model) draw() Model {
	st, w, h := m.common.Styles, m.common.Width, m.common.Height
	if w <= 0 || h <= 0 {
		m.lines = nil
		return m
	}
	rows := m.Rows(w)
	title := "mount peer groups"
	if m.d != nil {
		title += " under " + m.d.Under
	}
	if room := h - 1; len(rows) > room {
		// Keep the header, the legend and the host line; cut the middle.
		// (A diagram without a host column has no host line; its cut
		// keeps one more row at the end.)
		if keep := room - 3; keep > 0 {
			more := st.Subtle.Render(common.Truncate(fmt.Sprintf("  … %d more rows (m: the whole diagram)", len(rows)-2-keep), w))
			rows = append(append(rows[:keep:keep], more), rows[len(rows)-2:]...)
		}
		rows = rows[:room]
	}
	out := []string{common.Rule(st, title, w)}
	out = append(out, rows...)
	for len(out) < h {
		out = append(out, "")
	}
	m.lines = out[:h]
	return m
}

// colW is the width of a namespace's column.
const colW = 12

// Rows is the diagram's body at width w: a header of namespace names, the
// groups' rows, the legend, and the line about the host.
func (m Model) Rows(w int) []string {
	st := m.common.Styles
	if m.d == nil {
		return []string{st.Subtle.Render(common.Truncate("(perform the lesson: its mount namespaces' peer groups appear here)", w))}
	}
	d := m.d
	n := len(d.Tables)
	mpW := max(w-n*colW, 8)
	cell := func(s string) string { return common.Pad(" "+s, colW) }
	row := func(left string, cells []string) string {
		var b strings.Builder
		b.WriteString(common.Pad(common.Truncate(left, mpW), mpW))
		for _, c := range cells {
			b.WriteString(c)
		}
		return common.Truncate(b.String(), w)
	}
	var out []string
	var names, inos []string
	for _, t := range d.Tables {
		names = append(names, st.ColHeader.Render(cell(common.Truncate(t.Name, colW-1))))
		inos = append(inos, st.Subtle.Render(cell(nsIno(t.NS))))
	}
	out = append(out, row("", names), row(st.Subtle.Render("  mnt namespace"), inos))
	if len(d.Groups) == 0 {
		out = append(out, st.Subtle.Render(common.Truncate("  (no mount under "+d.Under+" in any of them)", w)))
	}
	for _, g := range d.Groups {
		head := "peer group " + strconv.Itoa(g.ID)
		if g.ID == 0 {
			head = "in no peer group"
		}
		out = append(out, st.Bold.Render(common.Truncate(head, w)))
		for _, r := range g.Rows {
			cells := make([]string, n)
			for i, role := range r.Roles {
				cells[i] = m.mark(role)
			}
			out = append(out, row("  "+r.Mountpoint, cells))
		}
	}
	legend := fmt.Sprintf("%s shared:N  %s master:N (slave)  %s private  %s unbindable  %s no mount",
		SymMember, SymSlave, SymPrivate, SymUnbindable, SymAbsent)
	out = append(out, st.Subtle.Render(common.Truncate(legend, w)))
	if h := m.hostLine(w); h != "" {
		out = append(out, h)
	}
	return out
}

// hostLine says whether a group shown reaches the host's table.
func (m Model) hostLine(w int) string {
	st, d := m.common.Styles, m.d
	hasHost := false
	for _, t := range d.Tables {
		hasHost = hasHost || t.Host
	}
	switch {
	case !hasHost:
		return ""
	case len(d.HostShares) == 0:
		return st.Done.Render(common.Truncate(common.SymOK+" the host's mounts are in none of these groups", w))
	}
	var ids []string
	for _, id := range d.HostShares {
		ids = append(ids, strconv.Itoa(id))
	}
	return st.Error.Render(common.Truncate(common.SymFail+" the host has mounts in group "+strings.Join(ids, ", ")+": events there reach it", w))
}

// mark is one cell: the role's symbol, styled.
func (m Model) mark(role string) string {
	st := m.common.Styles
	c := func(s string) string { return common.Pad(" "+s, colW) }
	switch role {
	case sandbox.RoleMember:
		return st.Done.Render(c(SymMember))
	case sandbox.RoleSlave:
		return st.Changed.Render(c(SymSlave))
	case sandbox.RolePrivate:
		return st.Subtle.Render(c(SymPrivate))
	case sandbox.RoleUnbindable:
		return st.Warn.Render(c(SymUnbindable))
	}
	return st.Subtle.Render(c(SymAbsent))
}

// nsIno is the inode of "mnt:[4026532201]", the part that tells
// namespaces apart.
func nsIno(ns string) string {
	s := strings.TrimSuffix(ns, "]")
	if i := strings.LastIndexByte(s, '['); i >= 0 {
		return s[i+1:]
	}
	return ns
}
