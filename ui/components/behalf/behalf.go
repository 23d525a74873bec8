// Package behalf tells a class learner (nslab serve) what the class
// server did for them: how it confines them (the engine's note), and the
// privileged operations it did on the host for the open lesson, as the
// engine recorded them when it did them (sandbox.HostOp). Lines are the
// short account in the lesson's text; opened whole (i), the full account
// takes the page's body as a scrollable viewport.
//
// It draws what it is given; the operations come with each observation,
// through the page's observe Cmd. No IO.
package behalf

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/textpane"
)

// KeyMap is the account's keys: Focus opens it whole; while open the
// viewport's keys scroll it.
type KeyMap = common.WholeKeyMap

// DefaultKeyMap is the account's default keys.
func DefaultKeyMap() KeyMap { return common.NewWholeKeyMap("i", "what the class server did") }

// Model is the account.
type Model struct {
	KeyMap KeyMap
	common common.Common
	note   string           // the engine's ConfinementNote; "" outside a class
	ops    []sandbox.HostOp // what it did on the host for this lesson so far

	focused bool
	pane    textpane.Model // the whole account, scrolled when open
	fw, fh  int            // the focused area, title included
}

// New is an account with nothing to tell (outside a class).
func New(c common.Common) Model {
	return Model{KeyMap: DefaultKeyMap(), common: c, pane: textpane.New(c)}
}

// SetNote sets how the class server confines the learner ("": no class).
func (m Model) SetNote(note string) Model {
	m.note = note
	return m.fill()
}

// SetOps sets what the server did on the host for the lesson so far.
func (m Model) SetOps(ops []sandbox.HostOp) Model {
	m.ops = ops
	return m.fill()
}

// Active reports whether there is a class to tell about.
func (m Model) Active() bool { return m.note != "" }

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	m.pane = m.pane.SetStyles(st)
	return m.fill()
}

// SetFocusSize sets the area the open account takes, its title included.
func (m Model) SetFocusSize(w, h int) Model {
	m.fw, m.fh = w, h
	return m.fill()
}

// Focused reports whether the account is open whole.
func (m Model) Focused() bool { return m.focused }

// SetFocus opens the account whole or closes it.
func (m Model) SetFocus(f bool) Model {
	m.focused = f && m.Active()
	m = m.fill()
	if m.focused {
		m.pane = m.pane.GotoTop()
	}
	return m
}

// Update scrolls the open account with keys and the wheel.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if !m.focused {
		return m, nil
	}
	var cmd tea.Cmd
	m.pane, cmd = m.pane.Update(msg)
	return m, cmd
}

// Lines is the short account at width w for the lesson's text: each
// operation done on the learner's behalf, and the key to the whole
// account; nothing outside a class.
func (m Model) Lines(w int) []string {
	if !m.Active() {
		return nil
	}
	st := m.common.Styles
	styled := func(out []string, s string, style func(...string) string) []string {
		for _, l := range common.WrapPlain(s, w) {
			out = append(out, style(l))
		}
		return out
	}
	var out []string
	if len(m.ops) > 0 {
		out = styled(out, "On your behalf, the class server (root on this machine):", st.Bold.Render)
		for _, op := range m.ops {
			out = append(out, bullet(op.Text, w)...)
		}
	}
	return styled(out, m.KeyMap.Focus.Help().Key+": how the class server confines you, and all it did for you", st.Subtle.Render)
}

// bullet wraps s at w under a "• ".
func bullet(s string, w int) []string {
	lines := common.WrapPlain(s, max(w-2, 4))
	for i := range lines {
		if i == 0 {
			lines[i] = "• " + lines[i]
		} else {
			lines[i] = "  " + lines[i]
		}
	}
	return lines
}

// Rows is the whole account at width w.
func (m Model) Rows(w int) []string {
	st := m.common.Styles
	out := []string{st.Heading.Render(common.Truncate("How the class server confines you", w))}
	out = append(out, common.WrapPlain(m.note+".", w)...)
	out = append(out, "", st.Heading.Render(common.Truncate("What it did on the host for this lesson", w)))
	if len(m.ops) == 0 {
		return append(out, st.Subtle.Render(common.Truncate("nothing yet: it acts when the lesson performs", w)))
	}
	for _, op := range m.ops {
		out = append(out, bullet(op.Time.UTC().Format("15:04:05")+" "+op.Text, w)...)
	}
	return out
}

// FocusedLines is the account whole: a title, then the pane.
func (m Model) FocusedLines() []string {
	title := "what the class server did for you — " + m.KeyMap.Focus.Help().Key + "/esc back"
	out := append([]string{common.Rule(m.common.Styles, title, m.fw)}, m.pane.Lines()...)
	for len(out) < m.fh {
		out = append(out, "")
	}
	return out[:max(m.fh, 0)]
}

// View is FocusedLines joined when open, else nothing.
func (m Model) View() string {
	if !m.focused {
		return ""
	}
	return strings.Join(m.FocusedLines(), "\n")
}

func (m Model) fill() Model {
	if !m.focused || m.fw <= 0 || m.fh <= 1 {
		return m
	}
	m.pane = m.pane.SetSize(m.fw, m.fh-1).SetContent(strings.Join(m.Rows(m.fw), "\n"))
	return m
}
