// Package shellpane is the shell inside the sandbox as a pane of the
// lesson screen: the shell runs on its own pty, a terminal emulator
// (charmbracelet/x/vt) keeps its screen, and the pane draws that screen
// beside the live views.
//
// While the pane has focus every key goes to the shell as typed (encoded
// by the emulator for the shell's current modes), except the focus key.
// The pane owns the shell's IO: Start's Cmd starts it, Term's goroutines
// read, write and resize the pty, and Wait's Cmd turns what happened into
// typed Msgs. Update and View make no syscall.
package shellpane

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"

	"github.com/nslab/nslab/ui/common"
)

// KeyMap is the pane's keys. Focus works both ways; Zoom only while the
// lesson has focus (in the shell every other key is the shell's).
type KeyMap struct {
	Focus key.Binding
	Zoom  key.Binding
}

// DefaultKeyMap is the pane's default keys. ctrl+] is telnet's escape: no
// shell or full-screen program the lessons use binds it.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Focus: key.NewBinding(key.WithKeys("ctrl+]"), key.WithHelp("^]", "shell/lesson")),
		Zoom:  key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "zoom shell")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Focus, k.Zoom} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// Model is the pane.
type Model struct {
	KeyMap KeyMap
	common common.Common

	term    *Term
	focused bool
	zoomed  bool
	dirty   bool // output since the last SettledMsg
	// acted: the last key typed may have made the shell act (see acts),
	// so its output settling may mean the sandbox changed.
	acted  bool
	scroll int // scrollback lines shown above the screen
	sbLen  int
	alt    bool
	note   string // one line under the title (tracing refused, the exit)
	// lines is the pane as Lines returns it, drawn by Update and the
	// setters, not in View: a frame with nothing new draws nothing.
	lines []string
	rule  drawnRule // the title line as last drawn
}

// drawnRule is the title line and what it was drawn from.
type drawnRule struct {
	key  ruleKey
	line string
}

type ruleKey struct {
	title string
	w     int
	st    *common.Styles
}

// New is a closed pane.
func New(c common.Common) Model { return Model{KeyMap: DefaultKeyMap(), common: c} }

// Open reports whether a shell runs in the pane.
func (m Model) Open() bool { return m.term != nil }

// Focused reports whether keys go to the shell.
func (m Model) Focused() bool { return m.term != nil && m.focused }

// Zoomed reports whether the pane takes the whole body.
func (m Model) Zoomed() bool { return m.term != nil && m.zoomed }

// SetFocus gives the keys to the shell (or back to the lesson).
func (m Model) SetFocus(f bool) Model {
	m.focused = f
	return m.draw()
}

// SetZoom maximises the pane or brings it back.
func (m Model) SetZoom(z bool) Model { m.zoomed = z; return m }

// SetNote sets the line under the pane's title.
func (m Model) SetNote(s string) Model { m.note = s; return m.draw() }

// Term is the running shell, nil when closed.
func (m Model) Term() *Term { return m.term }

// ScreenSize is the shell's screen size for a pane of w×h: the pane's
// title and note lines are not the shell's.
func ScreenSize(w, h int, note bool) (int, int) {
	h-- // title
	if note {
		h--
	}
	return max(w, 1), max(h, 1)
}

// SetSize sets the pane's area, its title line included; the shell is
// resized to match.
func (m Model) SetSize(w, h int) Model {
	if w == m.common.Width && h == m.common.Height {
		return m
	}
	m.common = m.common.SetSize(w, h)
	if m.term != nil {
		m.term.Resize(ScreenSize(w, h, m.note != ""))
	}
	return m.draw()
}

// SetStyles redraws with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	return m.draw()
}

// Update takes the Term's messages and, while focused, keys and pastes.
// A StartedMsg opens the pane (focused); ExitedMsg closes it.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case StartedMsg:
		if msg.Err != nil || msg.Term == nil {
			return m, nil
		}
		if m.term != nil && m.term != msg.Term {
			return m, CloseCmd(msg.Term) // a second start raced the first
		}
		m.term, m.focused, m.scroll, m.dirty, m.note, m.acted = msg.Term, true, 0, false, msg.Note, false
		m.term.Resize(ScreenSize(m.common.Width, m.common.Height, m.note != ""))
		return m.draw(), m.term.Wait(false)
	case OutputMsg:
		if msg.Term != m.term || m.term == nil {
			return m, nil
		}
		m.dirty = true
		return m.draw(), m.term.Wait(true)
	case SettledMsg:
		if msg.Term != m.term || m.term == nil {
			return m, nil
		}
		m.dirty = false
		return m, m.term.Wait(false)
	case ExitedMsg:
		if msg.Term != m.term {
			return m, nil
		}
		m.term, m.focused, m.zoomed = nil, false, false
		return m.draw(), nil
	case tea.KeyPressMsg:
		if !m.Focused() {
			return m, nil
		}
		m.term.send(uv.KeyPressEvent(uv.Key(msg)))
		m.acted = acts(msg, m.alt)
		if m.scroll != 0 { // typing goes back to the screen
			m.scroll = 0
			m = m.draw()
		}
		return m, nil
	case tea.PasteMsg:
		if !m.Focused() {
			return m, nil
		}
		m.term.paste(msg.Content)
		m.acted = m.alt || strings.ContainsAny(msg.Content, "\r\n")
		return m, nil
	case tea.MouseWheelMsg:
		if m.term == nil {
			return m, nil
		}
		switch msg.Button {
		case tea.MouseWheelUp:
			m.scroll += 3
		case tea.MouseWheelDown:
			m.scroll -= 3
		}
		m.scroll = min(max(m.scroll, 0), m.sbLen)
		return m.draw(), nil
	}
	return m, nil
}

// Acted reports whether the last key typed may have made the shell act:
// Enter (a command line), a key with ctrl or alt (^C, ^D, ^Z), a paste
// of lines, any key of a full-screen program. Typing a command line's
// characters only echoes them: when its output settles the sandbox has
// not changed, and the page need not look (its live refresh still does).
func (m Model) Acted() bool { return m.term != nil && m.acted }

// acts reports whether key k may make the shell act (see Acted); alt: a
// full-screen program has the screen, and any key may.
func acts(k tea.KeyPressMsg, alt bool) bool {
	if alt || k.Code == tea.KeyEnter || k.Code == tea.KeyKpEnter {
		return true
	}
	return k.Mod&^(tea.ModShift|tea.ModCapsLock|tea.ModNumLock) != 0
}

// Close ends the shell, from a Cmd; the pane is closed at once.
func (m Model) Close() (Model, tea.Cmd) {
	t := m.term
	m.term, m.focused, m.zoomed = nil, false, false
	m = m.draw()
	if t == nil {
		return m, nil
	}
	return m, CloseCmd(t)
}

// draw draws the pane: a title line, the note (if any), then the shell's
// screen, padded or cut to the pane's size.
func (m Model) draw() Model {
	st, w, h := m.common.Styles, m.common.Width, m.common.Height
	if w <= 0 || h <= 0 {
		m.lines = nil
		return m
	}
	var screen []string
	if m.term != nil {
		screen, m.sbLen, m.alt = m.term.lines(m.scroll, m.focused, w)
	}
	title := "shell in the sandbox"
	switch {
	case m.term == nil:
		title += " (closed)"
	case m.focused:
		title += " ● ^] back to the lesson"
	default:
		title += " · ^] to type here"
	}
	if m.scroll > 0 {
		title += fmt.Sprintf(" ↑%d of %d lines back", m.scroll, m.sbLen)
	} else if m.sbLen > 0 && !m.alt {
		title += fmt.Sprintf(" (%d more above: wheel)", m.sbLen)
	}
	// The title is the same at almost every draw (each keystroke's echo):
	// its rule is measured once.
	if k := (ruleKey{title, w, st}); k != m.rule.key {
		m.rule = drawnRule{key: k, line: common.Rule(st, title, w)}
	}
	out := []string{m.rule.line}
	if m.note != "" {
		out = append(out, st.Warn.Render(common.Truncate(m.note, w)))
	}
	for _, l := range screen {
		if len(out) == h {
			break
		}
		out = append(out, l) // fitted to w by Term.lines
	}
	for len(out) < h {
		out = append(out, "")
	}
	m.lines = out
	return m
}

// Lines is the pane, exactly its height. The caller may append to it, not
// change it.
func (m Model) Lines() []string { return slices.Clip(m.lines) }

// View is Lines joined.
func (m Model) View() string { return strings.Join(m.Lines(), "\n") }
