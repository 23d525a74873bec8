package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// openLessonMsg asks the app to open a lesson.
type openLessonMsg struct{ ID string }

// HomeModel is the lesson list.
type HomeModel struct {
	Keys HomeKeyMap

	st       *common.Styles
	help     help.Model
	lessons  []lessons.Lesson
	locks    map[string]string
	progress lessons.Progress
	cursor   int
	offset   int
	width    int
	height   int
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
func (m HomeModel) SetLocks(l map[string]string) HomeModel { m.locks = l; return m }

// SetStyles redraws the screen with st.
func (m HomeModel) SetStyles(st *common.Styles) HomeModel {
	m.st = st
	m.help.Styles = st.Help
	return m
}

// SetChecking says whether the machine checks are still running.
func (m HomeModel) SetChecking(c bool) HomeModel { m.checking = c; return m }

// NewHome is the home screen over the lessons in curriculum order.
func NewHome(st *common.Styles, ls []lessons.Lesson, locks map[string]string) HomeModel {
	return HomeModel{Keys: DefaultHomeKeyMap(), st: st, help: st.NewHelp(), lessons: ls, locks: locks, progress: lessons.NewProgress()}
}

// SetSize sets the area the screen draws in.
func (m HomeModel) SetSize(w, h int) HomeModel {
	m.width, m.height = w, h
	m.help.SetWidth(w)
	return m.scroll()
}

// SetProgress sets the progress shown.
func (m HomeModel) SetProgress(p lessons.Progress) HomeModel { m.progress = p; return m }

// SetWarning sets a one-time warning line (cleared by the next key).
func (m HomeModel) SetWarning(w string) HomeModel { m.warning = w; return m }

// SetError sets an error line (cleared by the next key).
func (m HomeModel) SetError(e string) HomeModel { m.err = e; return m }

// Select moves the cursor to the lesson id.
func (m HomeModel) Select(id string) HomeModel {
	for i, l := range m.lessons {
		if l.ID == id {
			m.cursor = i
		}
	}
	return m.scroll()
}

// Selected is the lesson under the cursor.
func (m HomeModel) Selected() (lessons.Lesson, bool) {
	if m.cursor < 0 || m.cursor >= len(m.lessons) {
		return lessons.Lesson{}, false
	}
	return m.lessons[m.cursor], true
}

// Update handles keys and the mouse wheel.
func (m HomeModel) Update(msg tea.Msg) (HomeModel, tea.Cmd) {
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
func (m HomeModel) listHeight() int {
	// title, blank, (notice), list, blank, 3 detail lines, help
	h := m.height - 2 - 1 - 4 - m.helpHeight()
	if m.warning != "" || m.err != "" {
		h--
	}
	return max(h, 1)
}

func (m HomeModel) helpHeight() int {
	return strings.Count(m.help.View(m.Keys), "\n") + 1
}

func (m HomeModel) scroll() HomeModel {
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

// View draws the screen.
func (m HomeModel) View() string {
	st := m.st
	w := m.width
	var b []string
	done := 0
	for _, l := range m.lessons {
		if m.progress.Get(l.ID).Status == lessons.StatusDone {
			done++
		}
	}
	title := st.Title.Render("nslab") + " " + st.Subtle.Render("· Linux namespaces, for real")
	count := st.Subtle.Render(fmt.Sprintf("%d/%d done", done, len(m.lessons)))
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
	b = append(b, st.Rule.Render(strings.Repeat("─", w)))
	if l, ok := m.Selected(); ok {
		b = append(b, common.Truncate(l.Summary, w))
		info := fmt.Sprintf("syscalls: %s · namespaces: %s", strings.Join(l.Syscalls, ", "), strings.Join(l.Kinds, ", "))
		b = append(b, st.Subtle.Render(common.Truncate(info, w)))
		if why := m.locks[l.ID]; why != "" {
			b = append(b, st.Locked.Render(common.Truncate(common.SymLocked+" locked: "+why, w)))
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
	gap := m.height - used - (strings.Count(hv, "\n") + 1)
	if gap > 0 {
		out += strings.Repeat("\n", gap)
	}
	return out + "\n" + hv
}
