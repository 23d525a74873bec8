package dashboard

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/ui/common"
)

// column is one column of the table.
type column struct {
	title string
	width int
	value func(class.Row) string
}

var columns = []column{
	{"LEARNER", 10, func(r class.Row) string { return r.Name }},
	{"LESSON", 11, func(r class.Row) string { return dash(r.Lesson) }},
	{"PART", 10, func(r class.Row) string { return dash(string(r.Part)) }},
	{"ON PART", 7, func(r class.Row) string { return clock(r, r.OnPart) }},
	{"PRED", 5, func(r class.Row) string { return dash(r.Prediction) }},
	{"HINTS", 5, func(r class.Row) string {
		if r.Lesson == "" {
			return "-"
		}
		return fmt.Sprint(r.Hints)
	}},
	{"SOLVED", 8, func(r class.Row) string {
		switch {
		case r.SolutionShown:
			return "shown"
		case r.Solved:
			return "yes"
		}
		return "-"
	}},
	{"IDLE", 6, func(r class.Row) string { return clock(r, r.Idle) }},
	{"", 5, func(r class.Row) string {
		switch {
		case !r.Connected:
			return "left"
		case r.Stuck:
			return "STUCK"
		}
		return ""
	}},
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clock is d as 4m05s, or "-" for a learner who left.
func clock(r class.Row, d time.Duration) string {
	if !r.Connected {
		return "-"
	}
	return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
}

// View draws the dashboard full-window.
func (m Model) View() tea.View {
	v := tea.NewView(m.screen())
	v.AltScreen = true
	return v
}

func (m Model) screen() string {
	w, h := m.common.Width, m.common.Height
	if w == 0 || h == 0 {
		return ""
	}
	if m.mode == modeProjector {
		return m.projector()
	}
	st := m.common.Styles
	stuck := 0
	for _, r := range m.rows {
		if r.Stuck {
			stuck++
		}
	}
	left := fmt.Sprintf("nslab class · %d learners · %d connected · %d stuck (%dm)", len(m.rows), m.connected(), stuck, int(m.cls.StuckAfter()/time.Minute))
	right := "follow: off"
	if f := m.following; f != nil {
		right = fmt.Sprintf("follow: %s, %s", f.Lesson, f.Part)
	}
	lines := []string{st.Title.Render(common.JoinEnds(left, right, w)), ""}
	if m.join != "" {
		lines = append(lines, common.Truncate("  "+m.join, w), "")
	}
	var head []string
	for _, c := range columns {
		head = append(head, common.Pad(c.title, c.width))
	}
	lines = append(lines, st.ColHeader.Render(common.Truncate("  "+strings.Join(head, " "), w)))

	bottom := m.bottom()
	room := max(0, h-len(lines)-len(bottom))
	// The rows around the cursor when they do not all fit.
	first := 0
	if m.cursor >= room {
		first = m.cursor - room + 1
	}
	if len(m.rows) == 0 {
		lines = append(lines, st.Subtle.Render(common.Truncate("  no learner has joined yet: they join with the ssh line nslab serve printed", w)))
	}
	for i := first; i < len(m.rows) && i < first+room; i++ {
		r := m.rows[i]
		var cells []string
		for _, c := range columns {
			cells = append(cells, common.Pad(common.Truncate(c.value(r), c.width), c.width))
		}
		mark := "  "
		if i == m.cursor {
			mark = "▸ "
		}
		line := common.Truncate(mark+strings.Join(cells, " "), w)
		switch {
		case i == m.cursor:
			line = st.Selected.Render(line)
		case r.Stuck:
			line = st.Error.Render(line)
		case !r.Connected:
			line = st.Subtle.Render(line)
		}
		lines = append(lines, line)
	}
	for len(lines) < h-len(bottom) {
		lines = append(lines, "")
	}
	return strings.Join(append(lines[:h-len(bottom)], bottom...), "\n")
}

// bottom is the lines under the table: what the instructor is doing, the
// status and the keys.
func (m Model) bottom() []string {
	st, w := m.common.Styles, m.common.Width
	var out []string
	switch m.mode {
	case modeBroadcast:
		out = append(out, common.Truncate(m.input.View(), w))
	case modeEnd:
		out = append(out, m.confirm.Lines()...)
	case modePick:
		l := m.lessons[m.lesson]
		out = append(out,
			st.Heading.Render(common.Truncate("Lead the class to:", w)),
			common.Truncate(fmt.Sprintf("  ↑↓ lesson  %02d %s — %s", l.Number, l.ID, l.Title), w),
			common.Truncate("  ←→ part    "+partBar(m.part), w))
	default:
		out = append(out, common.Truncate(m.status, w))
	}
	return append(out, st.Subtle.Render(common.Truncate(m.helpLine(), w)))
}

// partBar is the parts, the one at i in brackets.
func partBar(i int) string {
	var ps []string
	for j, p := range lessons.Parts() {
		if j == i {
			ps = append(ps, "["+strings.ToUpper(string(p))+"]")
		} else {
			ps = append(ps, string(p))
		}
	}
	return strings.Join(ps, " › ")
}

func (m Model) helpLine() string {
	k := m.Keys
	var ks []key.Binding
	switch m.mode {
	case modeBroadcast:
		return "enter send • esc cancel"
	case modeEnd:
		return "y yes • n no"
	case modePick:
		return "↑↓ lesson • ←→ part • enter lead the class there • esc cancel"
	default:
		f := k.Follow
		if m.following != nil {
			f.SetHelp("f", "follow off")
			lead := key.NewBinding(key.WithHelp("←→", "lead"))
			ks = []key.Binding{lead, k.Broadcast, f, k.Projector, k.End, k.Stuck, k.Quit}
		} else {
			ks = []key.Binding{k.Broadcast, f, k.Projector, k.End, k.Stuck, k.Quit}
		}
	}
	var parts []string
	for _, b := range ks {
		parts = append(parts, b.Help().Key+" "+b.Help().Desc)
	}
	return strings.Join(parts, " • ")
}

// projector is the instructor's lesson and part, large and plain: no
// colour, a wide margin, the part's text as clean text.
func (m Model) projector() string {
	w, h := m.common.Width, m.common.Height
	plain := common.NewStyles(true, true)
	margin := 4
	if w < 60 {
		margin = 1
	}
	width := max(20, min(76, w-2*margin))
	pad := strings.Repeat(" ", margin)
	l := m.lessons[m.lesson]
	p := lessons.Parts()[m.part]
	sec := l.Section(p)
	title := sec.Title
	if title == "" {
		title = string(p)
	}
	lines := []string{"", pad + strings.ToUpper(fmt.Sprintf("%02d %s", l.Number, l.Title)), "",
		pad + fmt.Sprintf("%s  (%d/%d)", strings.ToUpper(title), m.part+1, len(lessons.Parts())), ""}
	body := common.Markdown(plain, sec.Body, width)
	switch p {
	case lessons.PartPredict:
		body += "\n\n" + strings.Join(common.WrapPlain(l.Prediction.Question, width), "\n")
		for i, c := range l.Prediction.Choices {
			body += "\n" + strings.Join(common.WrapPlain(fmt.Sprintf("  %d) %s", i+1, c), width), "\n")
		}
	case lessons.PartChallenge:
		body += "\n\n" + strings.Join(common.WrapPlain("Challenge: "+l.Challenge.Task, width), "\n")
	}
	for _, b := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		lines = append(lines, pad+b)
	}
	foot := "←→ part • ↑↓ lesson • f follow • esc table"
	if m.following != nil {
		foot = "the class follows you • " + foot
	}
	foot = common.Truncate(pad+foot, w)
	if len(lines) > h-1 {
		lines = lines[:max(0, h-1)]
	}
	for len(lines) < h-1 {
		lines = append(lines, "")
	}
	for i, s := range lines {
		lines[i] = common.Truncate(s, w)
	}
	return strings.Join(append(lines, foot), "\n")
}

// Run runs the dashboard on a terminal until ctrl+c or ctx ends. environ
// is the terminal's environment (nil: this process's).
func Run(ctx context.Context, cls *class.Class, ls []lessons.Lesson, in io.Reader, out io.Writer, environ []string) error {
	return RunWith(ctx, cls, ls, in, out, environ, Options{})
}

// RunWith is Run with options. Signals are left to the caller (the
// server stops the class on SIGTERM; in raw mode ctrl+c is a key).
func RunWith(ctx context.Context, cls *class.Class, ls []lessons.Lesson, in io.Reader, out io.Writer, environ []string, opts Options) error {
	if environ == nil {
		environ = os.Environ()
	}
	noColor := false
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" {
			noColor = true
		}
	}
	m := New(ctx, common.NewStyles(true, noColor), cls, ls, opts)
	p := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(in), tea.WithOutput(out), tea.WithEnvironment(environ), tea.WithoutSignalHandler())
	_, err := p.Run()
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}
