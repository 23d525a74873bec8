// Package dashboard is the instructor's screen, the terminal `nslab serve`
// runs in: a live table of the class, one row per learner (lesson, part,
// time on the part, prediction, hints, challenge, idle time, a stuck
// mark), and the instructor's keys: broadcast a message, follow mode (the
// class follows the instructor's lesson and part), projector mode (the
// instructor's lesson in a large, plain layout), and ending one learner's
// session after a confirmation.
//
// It reads and drives the class only through *class.Class, from Cmds.
package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/confirm"
)

// KeyMap is the dashboard's keys.
type KeyMap struct {
	Up, Down    key.Binding // the selected learner; in the picker, the lesson
	Left, Right key.Binding // the part (picker, projector, following)
	Broadcast   key.Binding
	Follow      key.Binding // on (through the picker) and off
	Projector   key.Binding
	End         key.Binding // end the selected learner's session
	Stuck       key.Binding // more or less time before a learner is marked stuck
	Enter, Back key.Binding
	Quit        key.Binding
}

// DefaultKeyMap is the dashboard's default keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:        key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:      key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Left:      key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "part back")),
		Right:     key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "part on")),
		Broadcast: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "broadcast")),
		Follow:    key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow")),
		Projector: key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "projector")),
		End:       key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "end")),
		Stuck:     key.NewBinding(key.WithKeys("+", "-"), key.WithHelp("+/-", "stuck")),
		Enter:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "ok")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:      key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "stop")),
	}
}

// EndReason is what a learner whose session the instructor ended reads.
const EndReason = "the instructor ended it from the dashboard"

// mode is what the keys do now.
type mode int

const (
	modeTable     mode = iota
	modeBroadcast      // typing a message
	modePick           // picking the lesson and part to follow
	modeProjector      // the instructor's lesson, large and plain
	modeEnd            // confirming the end of a session
)

// Options tune New.
type Options struct {
	// Refresh is the table's period (default 1s).
	Refresh time.Duration
	// Join, if set, is shown under the title: how learners join (the
	// ssh line and the class code), which the dashboard's full screen
	// would otherwise hide.
	Join string
}

// Model is the dashboard.
type Model struct {
	Keys KeyMap

	common  common.Common
	cls     *class.Class
	lessons []lessons.Lesson
	refresh time.Duration
	join    string

	rows      []class.Row
	following *class.Follow
	cursor    int
	mode      mode
	status    string

	// The instructor's own lesson and part: what follow mode leads the
	// class to and the projector shows.
	lesson, part int

	input   textinput.Model
	confirm confirm.Model
	ending  string // the learner whose end is asked
}

// New is the dashboard of cls, whose lessons are ls (curriculum order).
// The caller runs it in a tea.Program (Run does).
func New(ctx context.Context, st *common.Styles, cls *class.Class, ls []lessons.Lesson, opts Options) Model {
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	c := common.New(ctx, st)
	in := textinput.New()
	in.Prompt = "message to the class: "
	in.Placeholder = "type, enter sends, esc cancels"
	in.CharLimit = 200
	m := Model{
		Keys: DefaultKeyMap(), common: c, cls: cls, lessons: ls, refresh: opts.Refresh, join: opts.Join,
		input: in, confirm: confirm.New(c),
	}
	if f, ok := cls.Following(); ok {
		m.following = &f
		m = m.seek(f)
	}
	return m
}

// rowsMsg is the class as of one refresh. Follow mode is not in it: the
// dashboard alone changes it, and a refresh read before a change must not
// undo it.
type rowsMsg struct {
	rows []class.Row
	err  error
	live bool // from the refresh chain (not a refresh after a key)
}

// fetch reads the class.
func (m Model) fetch(live bool) tea.Cmd {
	cls, wait, ctx := m.cls, m.refresh, m.common.Ctx
	return func() tea.Msg {
		if live {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil
			}
		}
		return rowsMsg{rows: cls.Rows(), err: cls.Err(), live: live}
	}
}

// Init reads the class and starts the refresh.
func (m Model) Init() tea.Cmd { return tea.Batch(m.fetch(false), m.fetch(true)) }

// Rows is the table's rows as last read.
func (m Model) Rows() []class.Row { return m.rows }

// Projecting reports whether the projector view is shown.
func (m Model) Projecting() bool { return m.mode == modeProjector }

// Update handles keys and refreshes.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.common = m.common.SetSize(msg.Width, msg.Height)
		m.confirm = m.confirm.SetSize(msg.Width, msg.Height)
		m.input.SetWidth(max(10, msg.Width-len(m.input.Prompt)-1))
		return m, nil
	case rowsMsg:
		m.rows = msg.rows
		m.cursor = min(m.cursor, max(0, len(m.rows)-1))
		if msg.err != nil {
			m.status = "the class state is not being saved: " + msg.err.Error()
		}
		if msg.live {
			return m, m.fetch(true)
		}
		return m, nil
	case tea.KeyPressMsg:
		if key.Matches(msg, m.Keys.Quit) {
			return m, tea.Quit
		}
		return m.key(msg)
	}
	if m.mode == modeBroadcast {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m Model) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.Keys
	switch m.mode {
	case modeBroadcast:
		switch {
		case key.Matches(msg, k.Enter):
			text := strings.TrimSpace(m.input.Value())
			m.mode = modeTable
			m.input.Blur()
			m.input.Reset()
			if text == "" {
				m.status = "nothing sent"
				return m, nil
			}
			m.cls.Broadcast(text)
			m.status = fmt.Sprintf("sent to %d learners: %s", m.connected(), text)
			return m, nil
		case key.Matches(msg, k.Back):
			m.mode = modeTable
			m.input.Blur()
			m.input.Reset()
			m.status = "nothing sent"
			return m, nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	case modeEnd:
		m.confirm, _ = m.confirm.Update(msg)
		switch m.confirm.Answer() {
		case confirm.Yes:
			m.mode = modeTable
			if err := m.cls.End(m.ending, EndReason); err != nil {
				m.status = err.Error()
			} else {
				m.status = m.ending + "'s session is ended"
			}
			return m, m.fetch(false)
		case confirm.No:
			m.mode = modeTable
			m.status = m.ending + "'s session goes on"
		}
		return m, nil
	case modePick:
		switch {
		case key.Matches(msg, k.Up):
			m.lesson = max(0, m.lesson-1)
		case key.Matches(msg, k.Down):
			m.lesson = min(len(m.lessons)-1, m.lesson+1)
		case key.Matches(msg, k.Left):
			m.part = max(0, m.part-1)
		case key.Matches(msg, k.Right):
			m.part = min(len(lessons.Parts())-1, m.part+1)
		case key.Matches(msg, k.Enter):
			m.mode = modeTable
			return m.lead()
		case key.Matches(msg, k.Back):
			m.mode = modeTable
			m.status = "follow mode stays off"
		}
		return m, nil
	case modeProjector:
		switch {
		case key.Matches(msg, k.Projector), key.Matches(msg, k.Back):
			m.mode = modeTable
			return m, nil
		case key.Matches(msg, k.Left):
			if m.part > 0 {
				m.part--
				return m.moved()
			}
		case key.Matches(msg, k.Right):
			if m.part < len(lessons.Parts())-1 {
				m.part++
				return m.moved()
			}
		case key.Matches(msg, k.Up):
			if m.lesson > 0 {
				m.lesson, m.part = m.lesson-1, 0
				return m.moved()
			}
		case key.Matches(msg, k.Down):
			if m.lesson < len(m.lessons)-1 {
				m.lesson, m.part = m.lesson+1, 0
				return m.moved()
			}
		case key.Matches(msg, k.Follow):
			return m.toggleFollow()
		}
		return m, nil
	}
	m.status = ""
	switch {
	case key.Matches(msg, k.Up):
		m.cursor = max(0, m.cursor-1)
	case key.Matches(msg, k.Down):
		m.cursor = min(max(0, len(m.rows)-1), m.cursor+1)
	case key.Matches(msg, k.Left):
		if m.following != nil && m.part > 0 {
			m.part--
			return m.moved()
		}
	case key.Matches(msg, k.Right):
		if m.following != nil && m.part < len(lessons.Parts())-1 {
			m.part++
			return m.moved()
		}
	case key.Matches(msg, k.Stuck):
		d := m.cls.StuckAfter().Truncate(time.Minute)
		if msg.String() == "+" {
			d += time.Minute
		} else {
			d = max(time.Minute, d-time.Minute)
		}
		m.cls.SetStuckAfter(d)
		m.status = fmt.Sprintf("a learner is stuck after %d minutes on one part", int(d/time.Minute))
		return m, m.fetch(false)
	case key.Matches(msg, k.Broadcast):
		if m.connected() == 0 {
			m.status = "no learner is connected"
			return m, nil
		}
		m.mode = modeBroadcast
		return m, m.input.Focus()
	case key.Matches(msg, k.Follow):
		return m.toggleFollow()
	case key.Matches(msg, k.Projector):
		if len(m.lessons) == 0 {
			return m, nil
		}
		m.mode = modeProjector
	case key.Matches(msg, k.End):
		if m.cursor >= len(m.rows) || !m.rows[m.cursor].Connected {
			m.status = "select a connected learner first"
			return m, nil
		}
		m.ending = m.rows[m.cursor].Name
		m.mode = modeEnd
		m.confirm = m.confirm.Ask(fmt.Sprintf("End %s's session? Their sandboxes close; their progress is kept. (y/n)", m.ending))
	}
	return m, nil
}

// toggleFollow stops follow mode, or opens the picker to start it.
func (m Model) toggleFollow() (tea.Model, tea.Cmd) {
	if m.following != nil {
		m.cls.Unfollow()
		m.following = nil
		m.status = "follow mode off: learners go where they like"
		return m, m.fetch(false)
	}
	if len(m.lessons) == 0 {
		return m, nil
	}
	if m.mode == modeProjector {
		return m.lead()
	}
	m.mode = modePick
	return m, nil
}

// lead starts follow mode at the instructor's lesson and part.
func (m Model) lead() (tea.Model, tea.Cmd) {
	f := m.here()
	m.cls.Follow(f.Lesson, f.Part)
	m.following = &f
	m.status = fmt.Sprintf("the class follows you: %s, %s", f.Lesson, f.Part)
	return m, m.fetch(false)
}

// moved: the instructor went to another part or lesson; the class
// follows if it does.
func (m Model) moved() (tea.Model, tea.Cmd) {
	if m.following == nil {
		return m, nil
	}
	return m.lead()
}

// here is the instructor's lesson and part.
func (m Model) here() class.Follow {
	return class.Follow{Lesson: m.lessons[m.lesson].ID, Part: lessons.Parts()[m.part]}
}

// seek puts the instructor at f.
func (m Model) seek(f class.Follow) Model {
	if i := slices.IndexFunc(m.lessons, func(l lessons.Lesson) bool { return l.ID == f.Lesson }); i >= 0 {
		m.lesson = i
	}
	if i := slices.Index(lessons.Parts(), f.Part); i >= 0 {
		m.part = i
	}
	return m
}

func (m Model) connected() int {
	n := 0
	for _, r := range m.rows {
		if r.Connected {
			n++
		}
	}
	return n
}
