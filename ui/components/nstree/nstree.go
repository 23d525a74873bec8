// Package nstree is the namespace tree: the user and PID namespace
// hierarchies of an observation, drawn as lsns --tree draws them, each
// namespace under its parent with its owner and its members, the
// sandbox's own marked. A lesson that shows sandbox.ViewTree gets it as
// the live views' focused view; Model shows it alone, scrollable.
//
// It draws the tree it is given; observing is the page's Cmd.
package nstree

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the scroll keys (one map for every scrollable pane).
type KeyMap = common.ScrollKeyMap

// DefaultKeyMap is the default scroll keys.
func DefaultKeyMap() KeyMap { return common.DefaultScrollKeyMap() }

// Model is the tree, alone and scrollable.
type Model struct {
	KeyMap KeyMap
	common common.Common
	tree   *sandbox.NSTree
	vp     viewport.Model
}

// New is an empty tree.
func New(c common.Common) Model {
	vp := viewport.New()
	vp.MouseWheelEnabled = true
	return Model{KeyMap: DefaultKeyMap(), common: c, vp: vp}
}

// SetSize sets the area the tree draws in.
func (m Model) SetSize(w, h int) Model {
	m.common = m.common.SetSize(w, h)
	m.vp.SetWidth(w)
	m.vp.SetHeight(max(h, 1))
	return m.redraw()
}

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	return m.redraw()
}

// SetTree shows t (nil: nothing observed yet). The scroll position stays,
// so a live refresh does not jump.
func (m Model) SetTree(t *sandbox.NSTree) Model {
	m.tree = t
	return m.redraw()
}

func (m Model) redraw() Model {
	if m.common.Styles == nil {
		return m
	}
	off := m.vp.YOffset()
	m.vp.SetContent(strings.Join(Lines(m.common.Styles, m.tree, m.common.Width), "\n"))
	m.vp.SetYOffset(off)
	return m
}

// Update scrolls.
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
	return m, nil
}

// View is the visible part of the tree.
func (m Model) View() string { return m.vp.View() }

// Lines draws tree t at width w: the user namespaces, then the PID
// namespaces, each under its parent.
func Lines(st *common.Styles, t *sandbox.NSTree, w int) []string {
	if t == nil {
		return []string{st.Subtle.Render(common.Truncate("No namespace tree observed yet.", w))}
	}
	var out []string
	out = append(out, st.Heading.Render(common.Truncate("user namespaces · owner uid: who created it, as nslab's namespace maps it", w)))
	out = append(out, branch(st, t.User, "user", w)...)
	out = append(out, "", st.Heading.Render(common.Truncate("PID namespaces · each owned by a user namespace", w)))
	out = append(out, branch(st, t.PID, "pid", w)...)
	return out
}

// branch draws one kind's nodes (in tree order) with tree lines.
func branch(st *common.Styles, ns []sandbox.NSNode, kind string, w int) []string {
	if len(ns) == 0 {
		return []string{st.Subtle.Render(common.Truncate("  (none visible)", w))}
	}
	var out []string
	// open[d]: a later sibling at depth d is still to come, so depth d
	// draws a vertical line on the rows between.
	open := map[int]bool{}
	for i, n := range ns {
		last := true
		for _, later := range ns[i+1:] {
			if later.Depth < n.Depth {
				break
			}
			if later.Depth == n.Depth {
				last = false
				break
			}
		}
		var pre strings.Builder
		for d := 1; d < n.Depth; d++ {
			if open[d] {
				pre.WriteString("│  ")
			} else {
				pre.WriteString("   ")
			}
		}
		if n.Depth > 0 {
			if last {
				pre.WriteString("└─ ")
			} else {
				pre.WriteString("├─ ")
			}
		}
		open[n.Depth] = !last
		out = append(out, common.Truncate(pre.String()+node(st, n, kind), w))
	}
	return out
}

// node is one namespace's line: its identity, its owner and its members.
func node(st *common.Styles, n sandbox.NSNode, kind string) string {
	id := n.ID.Label(kind)
	if n.Mine {
		id = st.OnlySB.Render(id + " (sandbox)")
	} else {
		id = st.Bold.Render(id)
	}
	var parts []string
	if kind == "user" && n.OwnerUID >= 0 {
		parts = append(parts, "owner uid "+strconv.Itoa(n.OwnerUID))
	}
	if kind == "pid" && !n.Owner.IsZero() {
		parts = append(parts, "owner "+n.Owner.Label("user"))
	}
	if n.Depth == 0 {
		parts = append(parts, "top")
	}
	parts = append(parts, n.Members())
	return id + "  " + st.Subtle.Render(strings.Join(parts, " · "))
}
