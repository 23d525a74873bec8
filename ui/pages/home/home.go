// Package home is the home page: the lesson list with each lesson's
// progress and lock, the selected lesson's summary, and the keys help.
//
// It shows what the program gives it (lessons, progress, locks) and
// reports what the learner chose (Open, Quit); opening a lesson and
// saving progress are the program's. No IO.
package home

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// Model is the lesson list.
type Model struct {
	Keys KeyMap

	common   common.Common
	help     help.Model
	lessons  []lessons.Lesson
	locks    map[string]string
	progress lessons.Progress
	cursor   int
	offset   int
	warning  string // the progress load warning, shown once
	err      string // the last progress error

	// open and quit are what the learner asked for; the app acts on them
	// in the same Update, so that keys typed right after go to the right
	// screen.
	open string
	quit bool
	// checking: the machine checks behind the locks are still running.
	checking bool
}

// SetLocks sets why lessons cannot run here.
func (m Model) SetLocks(l map[string]string) Model { m.locks = l; return m }

// SetStyles redraws the screen with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	m.help.Styles = st.Help
	return m
}

// SetChecking says whether the machine checks are still running.
func (m Model) SetChecking(c bool) Model { m.checking = c; return m }

// New is the home page over the lessons in curriculum order.
func New(c common.Common, ls []lessons.Lesson, locks map[string]string) Model {
	return Model{Keys: DefaultKeyMap(), common: c, help: c.Styles.NewHelp(), lessons: ls, locks: locks, progress: lessons.NewProgress()}
}

// SetSize sets the area the screen draws in.
func (m Model) SetSize(w, h int) Model {
	m.common = m.common.SetSize(w, h)
	m.help.SetWidth(w)
	return m.scroll()
}

// SetProgress sets the progress shown.
func (m Model) SetProgress(p lessons.Progress) Model { m.progress = p; return m }

// SetWarning sets a one-time warning line (cleared by the next key).
func (m Model) SetWarning(w string) Model { m.warning = w; return m }

// SetError sets an error line (cleared by the next key).
func (m Model) SetError(e string) Model { m.err = e; return m }

// Open is the lesson the learner asked to open ("" for none); the
// program acts on it in the same Update and then calls Opened.
func (m Model) Open() string { return m.open }

// Opened clears the request to open a lesson.
func (m Model) Opened() Model { m.open = ""; return m }

// Quit reports whether the learner asked to quit.
func (m Model) Quit() bool { return m.quit }

// Select moves the cursor to the lesson id.
func (m Model) Select(id string) Model {
	for i, l := range m.lessons {
		if l.ID == id {
			m.cursor = i
		}
	}
	return m.scroll()
}

// SelectAfter moves the cursor to the lesson after id (staying on id
// when it is the last): where a learner who just finished id goes next.
func (m Model) SelectAfter(id string) Model {
	for i, l := range m.lessons {
		if l.ID == id {
			m.cursor = min(i+1, len(m.lessons)-1)
		}
	}
	return m.scroll()
}

// Selected is the lesson under the cursor.
func (m Model) Selected() (lessons.Lesson, bool) {
	if m.cursor < 0 || m.cursor >= len(m.lessons) {
		return lessons.Lesson{}, false
	}
	return m.lessons[m.cursor], true
}

// Update handles keys and the mouse wheel.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		m.warning, m.err = "", ""
		switch {
		case key.Matches(msg, m.Keys.Up):
			if m.cursor > 0 {
				m.cursor--
			}
		case key.Matches(msg, m.Keys.Down):
			if m.cursor < len(m.lessons)-1 {
				m.cursor++
			}
		case key.Matches(msg, m.Keys.Open):
			if l, ok := m.Selected(); ok {
				m.open = l.ID
			}
		case key.Matches(msg, m.Keys.Help):
			m.help.ShowAll = !m.help.ShowAll
		case key.Matches(msg, m.Keys.Quit):
			m.quit = true
		}
	case tea.MouseWheelMsg:
		switch msg.Button {
		case tea.MouseWheelUp:
			if m.cursor > 0 {
				m.cursor--
			}
		case tea.MouseWheelDown:
			if m.cursor < len(m.lessons)-1 {
				m.cursor++
			}
		}
	}
	return m.scroll(), nil
}

// listHeight is how many lesson rows fit.
func (m Model) listHeight() int {
	// title, blank, (notice), list, legend, rule, 4 detail lines (a
	// lock reason takes two), help
	h := m.common.Height - 2 - 1 - 1 - 5 - m.helpHeight()
	if m.warning != "" || m.err != "" {
		h--
	}
	return max(h, 1)
}

func (m Model) helpHeight() int {
	return strings.Count(m.help.View(m.Keys), "\n") + 1
}

func (m Model) scroll() Model {
	h := m.listHeight()
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+h {
		m.offset = m.cursor - h + 1
	}
	if m.offset > max(len(m.lessons)-h, 0) {
		m.offset = max(len(m.lessons)-h, 0)
	}
	return m
}

// statusText is a lesson's progress in words, with a symbol.
func statusText(s lessons.Status) string {
	switch s {
	case lessons.StatusDone:
		return "● done"
	case lessons.StatusInProgress:
		return "◐ in progress"
	}
	return "○ not started"
}

// legend names every mark of the list.
const legend = "● done  ◐ in progress  ○ not started  " + common.SymLocked + " locked  " + common.SymCursor + " cursor"

// View draws the screen.
func (m Model) View() string {
	st := m.common.Styles
	w := m.common.Width
	var b []string
	done := 0
	for _, l := range m.lessons {
		if m.progress.Get(l.ID).Status == lessons.StatusDone {
			done++
		}
	}
	title := st.Title.Render("nslab") + " " + st.Subtle.Render("· Linux namespaces, for real")
	counts := fmt.Sprintf("%d/%d done", done, len(m.lessons))
	if right, answered := m.progress.PredictionScore(); answered > 0 {
		counts = fmt.Sprintf("predictions %d/%d right · %s", right, answered, counts)
	}
	count := st.Subtle.Render(counts)
	if common.Width(title)+common.Width(count)+1 > w {
		// Narrow: the counts matter more than the tagline.
		title = st.Title.Render("nslab")
	}
	b = append(b, common.JoinEnds(title, count, w), "")
	if m.err != "" {
		b = append(b, st.Error.Render(common.Truncate(common.SymFail+" "+m.err, w)))
	} else if m.warning != "" {
		b = append(b, st.Warn.Render(common.Truncate("! "+m.warning, w)))
	}
	// Columns: cursor(2) num(3) title … minutes(7) status(14) lock(2).
	const statusW, minW = 14, 8
	titleW := max(w-2-3-minW-1-statusW-2, 10)
	h := m.listHeight()
	base := len(b)
	for i := m.offset; i < len(m.lessons) && i < m.offset+h; i++ {
		l := m.lessons[i]
		cur := "  "
		if i == m.cursor {
			cur = common.SymCursor + " "
		}
		lock := "  "
		if m.locks[l.ID] != "" {
			lock = " " + st.Locked.Render(common.SymLocked)
		}
		num := fmt.Sprintf("%02d ", l.Number)
		t := common.Pad(common.Truncate(l.Title, titleW), titleW)
		mins := fmt.Sprintf("%4d min", l.Minutes)
		status := m.progress.Get(l.ID).Status
		stxt := common.Pad(statusText(status), statusW)
		switch status {
		case lessons.StatusDone:
			stxt = st.Done.Render(stxt)
		case lessons.StatusInProgress:
			stxt = st.Warn.Render(stxt)
		default:
			stxt = st.Subtle.Render(stxt)
		}
		line := num + t + st.Subtle.Render(common.Pad(mins, minW)) + " " + stxt + lock
		if i == m.cursor {
			line = st.Selected.Render(num+t) + st.Subtle.Render(common.Pad(mins, minW)) + " " + stxt + lock
		}
		b = append(b, common.Truncate(cur+line, w))
	}
	for len(b) < base+h {
		b = append(b, "")
	}
	if m.offset+h < len(m.lessons) {
		b[len(b)-1] = st.Subtle.Render(fmt.Sprintf("  ↓ %d more", len(m.lessons)-m.offset-h))
	}
	b = append(b, st.Subtle.Render(common.Truncate(legend, w)))
	b = append(b, st.Rule.Render(strings.Repeat("─", w)))
	if l, ok := m.Selected(); ok {
		b = append(b, common.Truncate(l.Summary, w))
		info := fmt.Sprintf("syscalls: %s · namespaces: %s", strings.Join(l.Syscalls, ", "), strings.Join(l.Kinds, ", "))
		b = append(b, st.Subtle.Render(common.Truncate(info, w)))
		if why := m.locks[l.ID]; why != "" {
			// The reason says what to do: it wraps, to two lines, rather
			// than lose its end.
			ls := common.WrapPlain(common.SymLocked+" locked: "+why, w)
			if len(ls) > 2 {
				ls = append(ls[:1], common.Truncate(strings.Join(ls[1:], " "), w))
			}
			for _, l := range ls {
				b = append(b, st.Locked.Render(l))
			}
		} else if m.checking {
			b = append(b, st.Subtle.Render(common.Truncate("checking what this machine can run…", w)))
		} else {
			b = append(b, st.Subtle.Render(common.Truncate("enter opens it; ? shows every key", w)))
		}
	}
	out := strings.Join(b, "\n")
	// Pad so the help sits on the last line.
	used := strings.Count(out, "\n") + 1
	hv := common.FitLines(m.help.View(m.Keys), w)
	gap := m.common.Height - used - (strings.Count(hv, "\n") + 1)
	if gap > 0 {
		out += strings.Repeat("\n", gap)
	}
	return out + "\n" + hv
}

// KeyMap is the home page's keys.
type KeyMap struct {
	Up, Down, Open, Help, Quit, ForceQuit key.Binding
}

// DefaultKeyMap is the home page's default keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Open:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Help, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.Open}, {k.Help, k.Quit, k.ForceQuit}}
}
