package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// progressMsg asks the app to record progress and save it.
type progressMsg struct{ apply func(*lessons.Progress) }

// LessonModel is the lesson screen: the text of the current part, the live
// HOST | SANDBOX views, the syscall log, and the part's interaction
// (prediction, perform, challenge).
type LessonModel struct {
	Keys LessonKeyMap

	st     *common.Styles
	help   help.Model
	ctx    context.Context
	sid    int
	sess   LessonSession
	lesson lessons.Lesson
	lock   string // why this machine cannot perform it ("" = it can)
	// checkingLocks: the machine checks are still running; Perform waits.
	checkingLocks bool
	refresh       time.Duration

	width, height int
	index         int            // the current part (cached from the session)
	text          viewport.Model // the lesson text and the part's interaction
	full          viewport.Model // the focused view, whole
	focus         int            // 0: all views; i: the i-th view alone

	obs       *lessons.Observation
	facts     []lessons.Fact
	obsErr    string
	viewsNeed int
	compact   compacted // obs's compact rows
	live      []string  // the live area, drawn by layout
	helpH     int       // the help's height, measured by layout
	helpStr   string    // the help, drawn by layout
	textKeyed string    // what the text was last drawn from
	observing bool
	events    []sandbox.Event
	fetching  bool // an EventsCmd is out

	performing, performed bool
	performErr            string

	choice, cursor int // choice: the learner's prediction (-1: none yet)
	verdict        *AnsweredMsg
	answering      bool

	checking bool
	checked  *CheckedMsg
	hints    int
	confirm  bool // the solution question is open
	solution bool // the solution was shown
	solving  bool

	status    string
	statusErr bool
	tickGen   int
	// closing asks the app to close the lesson and go home; it acts on
	// it in the same Update.
	closing bool
}

// NewLesson is the lesson screen over an open session. sid tells this
// screen's command results from an earlier one's.
func NewLesson(ctx context.Context, st *common.Styles, sid int, sess LessonSession, lock string, refresh time.Duration) LessonModel {
	if refresh <= 0 {
		refresh = time.Second
	}
	m := LessonModel{
		Keys: DefaultLessonKeyMap(), st: st, help: st.NewHelp(), ctx: ctx, sid: sid, sess: sess,
		lesson: sess.Lesson(), lock: lock, refresh: refresh, choice: -1,
		text: viewport.New(), full: viewport.New(),
	}
	m.text.MouseWheelEnabled = true
	m.full.MouseWheelEnabled = true
	_ = guard("part", func() error { m.index = sess.Index(); return nil })
	m.performed = sess.Performed()
	return m.layout()
}

// Init starts the live refresh and records the lesson as opened.
func (m LessonModel) Init() tea.Cmd {
	var live tea.Cmd
	if m.performed {
		live = LiveCmd(m.ctx, m.sid, m.tickGen, m.sess, m.refresh)
	}
	return tea.Batch(live, m.markPart())
}

// SID is the screen's id.
func (m LessonModel) SID() int { return m.sid }

// Session is the session the screen drives.
func (m LessonModel) Session() LessonSession { return m.sess }

// SetSize sets the area the screen draws in.
func (m LessonModel) SetSize(w, h int) LessonModel {
	m.width, m.height = w, h
	m.help.SetWidth(w)
	return m.layout()
}

// SetStyles redraws the screen with st.
func (m LessonModel) SetStyles(st *common.Styles) LessonModel {
	m.st = st
	m.help.Styles = st.Help
	m.textKeyed = ""
	return m.layout()
}

// SetLock sets why this machine cannot perform the lesson ("" = it can);
// checking says the checks are still running.
func (m LessonModel) SetLock(lock string, checking bool) LessonModel {
	m.lock, m.checkingLocks = lock, checking
	return m.layout()
}

// SetStatus shows a line of information (or an error) under the body.
func (m LessonModel) SetStatus(s string, isErr bool) LessonModel {
	m.status, m.statusErr = s, isErr
	return m
}

func (m LessonModel) part() lessons.Part { return lessons.Parts()[m.index] }

func (m LessonModel) views() []sandbox.View {
	if vs := observedViews(m.obs); len(vs) > 0 {
		return vs
	}
	return lessonViews(m.lesson)
}

func (m LessonModel) markPart() tea.Cmd {
	id, part := m.lesson.ID, m.part()
	return func() tea.Msg {
		return progressMsg{apply: func(p *lessons.Progress) { p.Mark(id, lessons.StatusInProgress, part) }}
	}
}

// Update handles keys, the mouse and command results.
func (m LessonModel) Update(msg tea.Msg) (LessonModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseWheelMsg:
		if m.focus > 0 {
			m.full, _ = m.full.Update(msg)
		} else {
			m.text, _ = m.text.Update(msg)
		}
		return m, nil
	case TraceMsg:
		if m.fetching {
			return m, nil
		}
		m.fetching = true
		return m, EventsCmd(m.sid, m.sess)
	}
	if sidOf(msg) != m.sid {
		return m, nil
	}
	switch msg := msg.(type) {
	case EventsMsg:
		m.fetching = false
		m.events = msg.Events
		return m.layout(), nil
	case PerformedMsg:
		m.performing, m.performed = false, true
		if msg.Events != nil {
			m.events = msg.Events
		}
		if msg.Err != nil {
			m.performErr = msg.Err.Error()
			m = m.SetStatus("perform failed: "+msg.Err.Error(), true)
		} else {
			m = m.SetStatus("performed: the syscalls are in the log, the views are live", false)
		}
		m.observing = true
		// Observe now, and start the live refresh.
		m.tickGen++
		m = m.layout()
		m.text.GotoBottom() // the outcome is at the end of the text
		return m, tea.Batch(ObserveCmd(m.ctx, m.sid, m.sess), LiveCmd(m.ctx, m.sid, m.tickGen, m.sess, m.refresh))
	case ObservedMsg:
		var next tea.Cmd
		if msg.live {
			if msg.gen != m.tickGen {
				return m, nil // an old chain: it ends here
			}
			next = LiveCmd(m.ctx, m.sid, m.tickGen, m.sess, m.refresh)
		} else {
			m.observing = false
		}
		if msg.Events != nil {
			m.events = msg.Events
		}
		if msg.Err != nil {
			m.obsErr = msg.Err.Error()
			if errors.Is(msg.Err, ErrPanic) {
				m = m.SetStatus(msg.Err.Error(), true)
			}
			return m.layout(), next
		}
		o := msg.Obs
		m.obs, m.facts, m.obsErr = &o, msg.Facts, ""
		m.compact = compactAll(m.obs)
		var cmd tea.Cmd
		if m.choice >= 0 && m.verdict == nil && !m.answering {
			m.answering = true
			cmd = AnswerCmd(m.sid, m.sess, m.choice, o)
		}
		return m.layout(), tea.Batch(cmd, next)
	case AnsweredMsg:
		m.answering = false
		if msg.Err != nil {
			return m.SetStatus(msg.Err.Error(), true).layout(), nil
		}
		v := msg
		m.verdict = &v
		id, right := m.lesson.ID, msg.Correct
		m = m.layout()
		if p := m.part(); p == lessons.PartPredict || p == lessons.PartPerform {
			m.text.GotoBottom() // the verdict is at the end of the text
		}
		return m, func() tea.Msg {
			return progressMsg{apply: func(p *lessons.Progress) { p.RecordPrediction(id, right) }}
		}
	case CheckedMsg:
		m.checking = false
		v := msg
		m.checked = &v
		if msg.Err != nil {
			m = m.SetStatus("check: "+msg.Err.Error(), true)
			return m.layout(), nil
		}
		if !msg.OK {
			m = m.SetStatus("not yet: "+msg.Detail, false).layout()
			m.text.GotoBottom()
			return m, nil
		}
		m = m.SetStatus(common.SymOK+" challenge solved: "+msg.Detail, false).layout()
		m.text.GotoBottom()
		id, hints, part := m.lesson.ID, m.hints, m.part()
		return m.layout(), func() tea.Msg {
			return progressMsg{apply: func(p *lessons.Progress) {
				p.RecordChallenge(id, true, hints)
				p.Mark(id, lessons.StatusDone, part)
			}}
		}
	case SolvedMsg:
		m.solving = false
		if msg.Err != nil {
			return m.SetStatus("solution: "+msg.Err.Error(), true).layout(), nil
		}
		m.checking = true
		m = m.SetStatus("solution applied; checking…", false)
		return m.layout(), tea.Batch(CheckCmd(m.ctx, m.sid, m.sess), m.observe())
	case shellReadyMsg:
		if msg.err != nil {
			return m.SetStatus("shell: "+msg.err.Error(), true), nil
		}
		sid := m.sid
		return m, tea.ExecProcess(msg.cmd, func(err error) tea.Msg { return ShellDoneMsg{sid: sid, Err: err} })
	case ShellDoneMsg:
		if msg.Err != nil {
			m = m.SetStatus("shell: "+msg.Err.Error(), true)
		} else {
			m = m.SetStatus("back from the shell; views refreshed", false)
		}
		m.observing = false // a refresh now, even if one is out
		return m, m.observe()
	}
	return m, nil
}

// sidOf is the screen id a command result carries (-1 for other messages).
func sidOf(msg tea.Msg) int {
	switch msg := msg.(type) {
	case EventsMsg:
		return msg.sid
	case PerformedMsg:
		return msg.sid
	case ObservedMsg:
		return msg.sid
	case AnsweredMsg:
		return msg.sid
	case CheckedMsg:
		return msg.sid
	case SolvedMsg:
		return msg.sid
	case shellReadyMsg:
		return msg.sid
	case ShellDoneMsg:
		return msg.sid
	}
	return -1
}

func (m *LessonModel) observe() tea.Cmd {
	if !m.performed || m.observing {
		return nil
	}
	m.observing = true
	return ObserveCmd(m.ctx, m.sid, m.sess)
}

func (m LessonModel) predicting() bool {
	return m.part() == lessons.PartPredict && m.verdict == nil && len(m.lesson.Logic.Prediction.Choices) > 0
}

func (m LessonModel) key(msg tea.KeyPressMsg) (LessonModel, tea.Cmd) {
	k := m.Keys
	if m.confirm {
		switch {
		case key.Matches(msg, k.Yes):
			m.confirm, m.solution = false, true
			if !m.performed {
				m = m.SetStatus("the solution is shown; perform the lesson first to apply it", false)
				return m.layout(), nil
			}
			m.solving = true
			m = m.SetStatus("applying the solution inside the sandbox…", false)
			return m.layout(), SolveCmd(m.ctx, m.sid, m.sess)
		case key.Matches(msg, k.No):
			m.confirm = false
			m = m.SetStatus("solution not shown", false)
			return m.layout(), nil
		}
		return m, nil
	}
	m.status = ""
	switch {
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		return m.layout(), nil
	case key.Matches(msg, k.Back):
		if m.focus > 0 {
			m.focus = 0
			return m.layout(), nil
		}
		m.closing = true
		return m, nil
	case key.Matches(msg, k.Quit):
		m.closing = true
		return m, nil
	case key.Matches(msg, k.Next):
		return m.move(true)
	case key.Matches(msg, k.Prev):
		return m.move(false)
	case key.Matches(msg, k.Enter):
		return m.enter()
	case key.Matches(msg, k.Choose):
		n := int(msg.String()[0] - '1')
		if m.predicting() {
			return m.choose(n)
		}
		if n < len(m.views()) {
			m.focus = n + 1
			m.full.GotoTop()
		}
		return m.layout(), nil
	case key.Matches(msg, k.Focus):
		m.focus = (m.focus + 1) % (len(m.views()) + 1)
		m.full.GotoTop()
		return m.layout(), nil
	case key.Matches(msg, k.FocusBack):
		if msg.String() == "0" {
			m.focus = 0
		} else {
			n := len(m.views()) + 1
			m.focus = (m.focus + n - 1) % n
		}
		m.full.GotoTop()
		return m.layout(), nil
	case key.Matches(msg, k.Up), key.Matches(msg, k.Down):
		up := key.Matches(msg, k.Up)
		switch {
		case m.predicting():
			n := len(m.lesson.Logic.Prediction.Choices)
			if up {
				m.cursor = (m.cursor + n - 1) % n
			} else {
				m.cursor = (m.cursor + 1) % n
			}
			return m.layout(), nil
		case m.focus > 0:
			if up {
				m.full.ScrollUp(1)
			} else {
				m.full.ScrollDown(1)
			}
		default:
			if up {
				m.text.ScrollUp(1)
			} else {
				m.text.ScrollDown(1)
			}
		}
		return m, nil
	case key.Matches(msg, k.PageUp), key.Matches(msg, k.PageDown):
		vp := &m.text
		if m.focus > 0 {
			vp = &m.full
		}
		if key.Matches(msg, k.PageUp) {
			vp.PageUp()
		} else {
			vp.PageDown()
		}
		return m, nil
	case key.Matches(msg, k.Refresh):
		if !m.performed {
			return m.SetStatus("nothing to refresh yet: perform the lesson first", false), nil
		}
		m.observing = false
		return m.SetStatus("refreshed", false), m.observe()
	case key.Matches(msg, k.Shell):
		if !m.performed || m.performErr != "" {
			return m.SetStatus(m.needPerform("a shell inside")), nil
		}
		return m, ShellCmd(m.sid, m.sess)
	case key.Matches(msg, k.Check):
		if m.part() != lessons.PartChallenge {
			return m.SetStatus("c checks the challenge: it is in the Challenge part", false), nil
		}
		if !m.performed || m.performErr != "" {
			return m.SetStatus(m.needPerform("the challenge")), nil
		}
		if m.checking {
			return m, nil
		}
		m.checking = true
		m = m.SetStatus("checking the kernel's state…", false)
		return m.layout(), CheckCmd(m.ctx, m.sid, m.sess)
	case key.Matches(msg, k.Hint):
		if m.part() != lessons.PartChallenge {
			return m.SetStatus("hints are for the challenge: it is in the Challenge part", false), nil
		}
		if m.hints >= len(m.lesson.Logic.Challenge.Hints) {
			return m.SetStatus("no more hints; v shows the solution", false), nil
		}
		m.hints++
		m = m.layout()
		m.text.GotoBottom()
		id, n := m.lesson.ID, m.hints
		return m, func() tea.Msg {
			return progressMsg{apply: func(p *lessons.Progress) { p.RecordChallenge(id, false, n) }}
		}
	case key.Matches(msg, k.Solution):
		if m.part() != lessons.PartChallenge {
			return m.SetStatus("the solution is in the Challenge part", false), nil
		}
		m.confirm = true
		return m.SetStatus("Show the solution and apply it in the sandbox? y/n", false).layout(), nil
	}
	return m, nil
}

// needPerform is the status for an action that needs the sandbox.
func (m LessonModel) needPerform(what string) (string, bool) {
	switch {
	case m.lock != "":
		return fmt.Sprintf("%s locked on this machine: %s", common.SymLocked, m.lock), true
	case m.performErr != "":
		return "the lesson's syscalls failed: " + m.performErr, true
	case m.performing:
		return "performing… " + what + " is ready in a moment", false
	}
	return what + " needs the sandbox: go to Perform (n) and press enter", false
}

func (m LessonModel) move(next bool) (LessonModel, tea.Cmd) {
	moved := false
	err := guard("move", func() error {
		if next {
			moved = m.sess.Next()
		} else {
			moved = m.sess.Prev()
		}
		m.index = m.sess.Index()
		return nil
	})
	if err != nil {
		return m.SetStatus(err.Error(), true), nil
	}
	if !moved {
		if next {
			return m.SetStatus("this is the last part: esc goes back to the lessons", false), nil
		}
		return m.SetStatus("this is the first part", false), nil
	}
	m.text.GotoTop()
	return m.layout(), m.markPart()
}

func (m LessonModel) choose(n int) (LessonModel, tea.Cmd) {
	if n < 0 || n >= len(m.lesson.Logic.Prediction.Choices) {
		return m, nil
	}
	m.choice, m.cursor = n, n
	m = m.SetStatus(fmt.Sprintf("your prediction: %d. The kernel decides after Perform (n).", n+1), false)
	var cmd tea.Cmd
	if m.obs != nil && !m.answering {
		m.answering = true
		cmd = AnswerCmd(m.sid, m.sess, n, *m.obs)
	}
	return m.layout(), cmd
}

func (m LessonModel) enter() (LessonModel, tea.Cmd) {
	switch m.part() {
	case lessons.PartPredict:
		if m.predicting() {
			return m.choose(m.cursor)
		}
	case lessons.PartPerform:
		switch {
		case m.lock != "":
			return m.SetStatus(fmt.Sprintf("%s locked on this machine: %s", common.SymLocked, m.lock), true).layout(), nil
		case m.checkingLocks:
			return m.SetStatus("checking what this machine can run… press enter again in a moment", false), nil
		case m.performing:
			return m, nil
		case m.performed:
			return m.move(true)
		}
		m.performing = true
		m = m.SetStatus("performing the syscalls…", false)
		return m.layout(), PerformCmd(m.ctx, m.sid, m.sess)
	case lessons.PartRecap:
		m.closing = true
		return m, nil
	}
	return m.move(true)
}

// Layout. The body is the lesson text and the live area: side by side
// when wide, stacked when not; a focused view takes the whole body.

const wideMin = 110

type lessonLayout struct {
	bodyH        int
	textW, textH int
	liveW, liveH int // the views area (under its title line)
	traceH       int
	wide         bool
}

func (m LessonModel) helpView() string {
	if m.confirm {
		return common.FitLines(m.help.View(confirmKeys{m.Keys}), m.width)
	}
	return common.FitLines(m.help.View(lessonHelp{m.Keys, m.part()}), m.width)
}

func (m LessonModel) geometry() lessonLayout {
	g := lessonLayout{bodyH: max(m.height-2-1-m.helpH, 3)}
	g.wide = m.width >= wideMin
	need := 2 // the waiting message and the list of views
	if m.obs != nil {
		need = m.viewsNeed
		if g.wide {
			need++ // the column header under the rule
		}
	}
	if g.wide {
		g.textW, g.textH = min(m.width*2/5, m.width-3-sideBySideMin), g.bodyH
		g.liveW = m.width - g.textW - 3
		avail := g.bodyH - 2
		g.liveH = max(min(need, avail-3), 1)
		g.traceH = avail - g.liveH
		return g
	}
	g.textW, g.liveW = m.width, m.width
	avail := g.bodyH - 2
	textMin, traceMin := max(g.bodyH/4, 4), 3
	if g.bodyH < 18 {
		traceMin = 2
	}
	switch m.part() {
	case lessons.PartObserve, lessons.PartExperiment:
		// The views are what these parts are about.
	default:
		// The text and its interaction come first; the views keep a
		// glimpse.
		textMin = max(textMin, avail-traceMin-max(avail/3, 3))
	}
	g.liveH = max(min(need, avail-textMin-traceMin), 1)
	g.traceH = traceMin
	g.textH = max(avail-g.liveH-g.traceH, 1)
	return g
}

// viewsNeed is how many lines the views want in the shared area.
func viewsNeed(c compacted, stacked bool) int {
	n := 0
	for _, rows := range c.rows {
		n++
		for _, r := range rows {
			n++
			if stacked && r.summary == "" && r.d.Kind == sandbox.Changed {
				n++
			}
		}
	}
	return n
}

// layout sizes the viewports and refills their content.
func (m LessonModel) layout() LessonModel {
	if m.width == 0 {
		return m
	}
	if m.obs != nil {
		w := m.width
		if w >= wideMin {
			w = m.width - min(m.width*2/5, m.width-3-sideBySideMin) - 3
		}
		m.viewsNeed = viewsNeed(m.compact, w < sideBySideMin)
	}
	m.helpStr = m.helpView()
	m.helpH = strings.Count(m.helpStr, "\n") + 1
	g := m.geometry()
	m.text.SetWidth(g.textW)
	m.text.SetHeight(g.textH)
	// The text is Markdown rendered; a live refresh rarely changes it,
	// so it is redrawn only when what it shows changed.
	if k := m.textKey(g.textW); k != m.textKeyed {
		m.textKeyed = k
		m.text.SetContent(m.textContent(g.textW))
	}
	m.full.SetWidth(m.width)
	m.full.SetHeight(g.bodyH - 1)
	if m.focus > len(m.views()) {
		m.focus = 0
	}
	if m.focus > 0 {
		m.full.SetContent(strings.Join(renderFocusedView(m.st, m.obs, m.views()[m.focus-1], m.width), "\n"))
		m.live = nil
	} else {
		// Drawn here, once per change, not in every View.
		m.live = m.liveLines(g)
	}
	return m
}

// textKey sums up everything textContent draws from.
func (m LessonModel) textKey(w int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%s|%d|%t%t%q|%q|%d,%d|%t%t|%d%t%t%t|%t|", w, m.part(), m.index, m.performing, m.performed, m.performErr,
		m.lock, m.choice, m.cursor, m.answering, m.obs != nil, m.hints, m.solution, m.confirm, m.checking, m.verdict != nil)
	if m.verdict != nil {
		fmt.Fprintf(&b, "%+v|", *m.verdict)
	}
	if m.checked != nil {
		fmt.Fprintf(&b, "%t%q%v|", m.checked.OK, m.checked.Detail, m.checked.Err)
	}
	if m.part() == lessons.PartObserve {
		for _, f := range m.facts {
			fmt.Fprintf(&b, "%t%q%q;", f.OK, f.Text, f.Got)
		}
	}
	return b.String()
}

// textContent is the current part's text and its interaction.
func (m LessonModel) textContent(w int) string {
	st := m.st
	w = max(w-1, 10)
	sec := m.lesson.Section(m.part())
	title := sec.Title
	if title == "" {
		title = partName(m.part())
	}
	var b []string
	b = append(b, st.Heading.Render(common.Truncate(title, w)))
	if body := strings.TrimSpace(sec.Body); body != "" {
		b = append(b, common.Markdown(st, body, w))
	}
	extra := m.partExtra(w)
	if len(extra) > 0 {
		b = append(b, "")
		b = append(b, extra...)
	}
	return strings.Join(b, "\n")
}

func partName(p lessons.Part) string {
	s := string(p)
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// partExtra is what the learner can do in the current part.
func (m LessonModel) partExtra(w int) []string {
	st := m.st
	lg := m.lesson.Logic
	var b []string
	add := func(s string) { b = append(b, common.Inline(st, s, w)...) }
	addStyled := func(s string, style func(...string) string) {
		for _, l := range common.WrapPlain(s, w) {
			b = append(b, style(l))
		}
	}
	verdict := func() {
		if m.verdict == nil {
			return
		}
		v := m.verdict
		if v.Correct {
			addStyled(fmt.Sprintf("%s Your prediction (%d) was right.", common.SymOK, v.Choice+1), st.Done.Render)
		} else {
			right := ""
			if v.Right >= 0 && v.Right < len(lg.Prediction.Choices) {
				right = fmt.Sprintf(" The kernel says %d: %s", v.Right+1, lg.Prediction.Choices[v.Right])
			}
			addStyled(fmt.Sprintf("%s Your prediction (%d) was not what happened.%s", common.SymFail, v.Choice+1, right), st.Error.Render)
		}
		if v.Why != "" {
			add(v.Why)
		}
	}
	switch m.part() {
	case lessons.PartPredict:
		p := lg.Prediction
		if p.Question == "" || len(p.Choices) == 0 {
			add("(This lesson asks no question here: press n.)")
			break
		}
		addStyled(p.Question, st.Bold.Render)
		for i, c := range p.Choices {
			cur := "  "
			if m.predicting() && i == m.cursor {
				cur = common.SymCursor + " "
			}
			mark := ""
			if i == m.choice {
				mark = "  ← your prediction"
			}
			prefix := fmt.Sprintf("%s%d) ", cur, i+1)
			for j, l := range common.WrapPlain(c+mark, w-common.Width(prefix)) {
				if j == 0 {
					l = prefix + l
				} else {
					l = strings.Repeat(" ", common.Width(prefix)) + l
				}
				if i == m.choice || (m.predicting() && i == m.cursor) {
					l = st.Selected.Render(l)
				}
				b = append(b, l)
			}
		}
		b = append(b, "")
		switch {
		case m.verdict != nil:
			verdict()
		case m.choice >= 0:
			add("Locked in. Press n to go on to Perform; the kernel decides.")
		default:
			add("Choose with 1-" + fmt.Sprint(len(p.Choices)) + ", or ↑/↓ and enter.")
		}
	case lessons.PartPerform:
		if m.lesson.Command != "" {
			add("The same with util-linux:")
			b = append(b, "  "+st.Code.Render(common.Truncate(m.lesson.Command, w-2)))
		}
		if len(m.lesson.Syscalls) > 0 {
			add("Syscalls: `" + strings.Join(m.lesson.Syscalls, "`, `") + "`")
		}
		b = append(b, "")
		switch {
		case m.lock != "":
			addStyled(common.SymLocked+" Locked on this machine: "+m.lock, st.Locked.Render)
			add("You can read on, but not perform it here.")
		case m.performing:
			add("… performing the syscalls")
		case m.performErr != "":
			addStyled(common.SymFail+" The syscalls failed: "+m.performErr, st.Error.Render)
		case m.performed:
			addStyled(common.SymOK+" Performed. The trace is in the syscall log; n goes on.", st.Done.Render)
		default:
			addStyled("Press enter to perform the syscalls for real.", st.Bold.Render)
		}
		verdict()
	case lessons.PartObserve:
		if m.obs == nil {
			add(m.waiting())
			break
		}
		if len(m.facts) > 0 {
			addStyled("What the kernel shows:", st.Bold.Render)
			for _, f := range m.facts {
				s := "✓ " + f.Text
				style := st.Done.Render
				if !f.OK {
					s, style = common.SymFail+" "+f.Text, st.Error.Render
				}
				if f.Got != "" {
					s += " (" + f.Got + ")"
				}
				addStyled(s, style)
			}
		}
		verdict()
	case lessons.PartExperiment:
		if m.performed && m.performErr == "" {
			addStyled("Press s for a shell inside the sandbox; exit returns here.", st.Bold.Render)
		} else {
			add(m.waiting())
		}
		if len(lg.Experiments) > 0 {
			add("Try:")
			for _, e := range lg.Experiments {
				b = append(b, "  "+st.Code.Render(common.Truncate(e, w-2)))
			}
		}
	case lessons.PartChallenge:
		c := lg.Challenge
		if c.Task != "" {
			add("**Task:** " + c.Task)
		}
		b = append(b, "")
		switch {
		case m.checking:
			add("… checking the kernel's state")
		case m.checked == nil:
			add("Not checked yet: solve it in the shell (s), then press c.")
		case m.checked.Err != nil:
			addStyled(common.SymFail+" check failed: "+m.checked.Err.Error(), st.Error.Render)
		case m.checked.OK:
			addStyled(common.SymOK+" Solved: "+m.checked.Detail, st.Done.Render)
		default:
			addStyled(common.SymFail+" Not yet: "+m.checked.Detail, st.Warn.Render)
		}
		for i := 0; i < m.hints && i < len(c.Hints); i++ {
			add(fmt.Sprintf("**Hint %d:** %s", i+1, c.Hints[i]))
		}
		if m.solution {
			add("**Solution:**")
			for _, s := range c.Solution {
				b = append(b, "  "+st.Code.Render(common.Truncate(s, w-2)))
			}
		}
		if m.confirm {
			addStyled("Show the solution and apply it in the sandbox? y/n", st.Warn.Render)
		}
		keys := "c check"
		if left := len(c.Hints) - m.hints; left > 0 {
			keys += fmt.Sprintf(" · h hint (%d left)", left)
		}
		if !m.solution {
			keys += " · v solution"
		}
		b = append(b, st.Subtle.Render(common.Truncate(keys, w)))
	case lessons.PartRecap:
		if len(m.lesson.ManPages) > 0 {
			add("Read: " + strings.Join(m.lesson.ManPages, ", "))
		}
		if m.checked != nil && m.checked.OK {
			addStyled(common.SymOK+" Lesson done.", st.Done.Render)
		}
		add("Press enter to go back to the lessons.")
	}
	return b
}

func (m LessonModel) waiting() string {
	if m.lock != "" {
		return common.SymLocked + " Locked on this machine: " + m.lock
	}
	if m.performErr != "" {
		return "The syscalls failed: " + m.performErr
	}
	if m.performed || m.performing {
		return "… looking at both sides"
	}
	return "Nothing to see yet: go to Perform and press enter."
}

// View draws the screen.
func (m LessonModel) View() string {
	st := m.st
	w := m.width
	g := m.geometry()
	var out []string
	// Header: the lesson and the step bar.
	title := st.Title.Render("nslab") + st.Subtle.Render(" › ") + st.Bold.Render(fmt.Sprintf("%02d %s", m.lesson.Number, m.lesson.Title))
	state := ""
	switch {
	case m.lock != "":
		state = st.Locked.Render(common.SymLocked + " locked")
	case m.performing:
		state = st.Warn.Render("… performing")
	case m.performErr != "":
		state = st.Error.Render(common.SymFail + " failed")
	case m.performed:
		state = st.Done.Render("● sandbox live")
	}
	out = append(out, common.JoinEnds(common.Truncate(title, w-16), state, w), m.stepBar(w))

	var body []string
	if m.focus > 0 {
		vs := m.views()
		v := vs[m.focus-1]
		t := fmt.Sprintf("view %d/%d: %s — tab next · 0 all views · ↑/↓ scroll", m.focus, len(vs), viewTitle(v))
		body = append(body, st.Heading.Render(common.Truncate(t, w)))
		if m.obs == nil {
			body = append(body, m.waiting())
		} else {
			body = append(body, strings.Split(m.full.View(), "\n")...)
		}
	} else {
		text := m.textLines()
		live := m.live
		if g.wide {
			sep := st.Rule.Render("│")
			for i := 0; i < g.bodyH; i++ {
				l, r := "", ""
				if i < len(text) {
					l = text[i]
				}
				if i < len(live) {
					r = live[i]
				}
				body = append(body, common.Pad(common.Truncate(l, g.textW), g.textW)+" "+sep+" "+r)
			}
		} else {
			body = append(body, text...)
			for len(body) < g.textH {
				body = append(body, "")
			}
			body = append(body, live...)
		}
	}
	for len(body) < g.bodyH {
		body = append(body, "")
	}
	if len(body) > g.bodyH {
		body = body[:g.bodyH]
	}
	out = append(out, body...)
	// Status line.
	status := ""
	if m.status != "" {
		if m.statusErr {
			status = st.Error.Render(common.Truncate(common.SymFail+" "+m.status, w))
		} else {
			status = st.Subtle.Render(common.Truncate(m.status, w))
		}
	}
	out = append(out, status, m.helpStr)
	return strings.Join(out, "\n")
}

// rule is a titled separator line.
func (m LessonModel) rule(title string, w int) string {
	t := "─ " + title + " "
	return m.st.Rule.Render(common.Truncate(t+strings.Repeat("─", max(w-common.Width(t), 0)), w))
}

// liveLines is the live area: the views and the syscall log.
func (m LessonModel) liveLines(g lessonLayout) []string {
	st := m.st
	var out []string
	every := "every " + m.refresh.String()
	var table tableLayout
	if m.obs != nil {
		table = viewsTable(m.compact, g.liveW)
	}
	switch {
	case m.obs == nil:
		out = append(out, m.rule("live: HOST vs SANDBOX · "+every, g.liveW))
	case g.wide:
		out = append(out, m.rule("live: HOST vs SANDBOX · "+every, g.liveW), common.Truncate(table.header(st, ""), g.liveW))
	default:
		out = append(out, common.Truncate(table.header(st, "live "+m.refresh.String()), g.liveW))
	}
	h := g.liveH - (len(out) - 1)
	var views []string
	switch {
	case m.obs == nil:
		views = append(views, st.Subtle.Render(common.Truncate(m.waiting(), g.liveW)))
		var names []string
		for i, v := range m.views() {
			names = append(names, fmt.Sprintf("%d %s", i+1, viewTitle(v)))
		}
		views = append(views, st.Subtle.Render(common.Truncate("views: "+strings.Join(names, " · "), g.liveW)))
	default:
		if m.obsErr != "" {
			views = append(views, st.Error.Render(common.Truncate(common.SymFail+" "+m.obsErr, g.liveW)))
		}
		views = append(views, renderAllViews(st, m.obs, m.compact, m.lesson.Logic.Views, table, h-len(views))...)
	}
	for len(views) < h {
		views = append(views, "")
	}
	out = append(out, views[:h]...)
	out = append(out, m.rule(fmt.Sprintf("syscalls (%d) ─── %s differs %s only sandbox %s only host", len(m.events), common.SymChanged, common.SymOnlySB, common.SymOnlyHost), g.liveW))
	trace := renderTrace(st, m.events, g.liveW, g.traceH)
	for len(trace) < g.traceH {
		trace = append(trace, "")
	}
	return append(out, trace...)
}

// textLines is the visible text, its last line saying there is more.
func (m LessonModel) textLines() []string {
	lines := strings.Split(m.text.View(), "\n")
	if m.text.TotalLineCount() > m.text.Height() && !m.text.AtBottom() && len(lines) > 1 {
		more := fmt.Sprintf("  ↓ more: j/k, pgdn, wheel (%d%%)", int(m.text.ScrollPercent()*100))
		lines[len(lines)-1] = m.st.Subtle.Render(common.Truncate(more, m.text.Width()))
	}
	return lines
}

// stepBar shows the seven parts with the current one marked.
func (m LessonModel) stepBar(w int) string {
	st := m.st
	parts := lessons.Parts()
	var b strings.Builder
	plain := 0
	for i, p := range parts {
		if i > 0 {
			b.WriteString(st.Rule.Render(" › "))
			plain += 3
		}
		name := string(p)
		switch {
		case i == m.index:
			name = "[" + strings.ToUpper(name) + "]"
			b.WriteString(st.Current.Render(name))
		case i < m.index:
			b.WriteString(st.Done.Render(name))
		default:
			b.WriteString(st.Subtle.Render(name))
		}
		plain += len(name)
	}
	if plain <= w {
		return b.String()
	}
	return st.Current.Render(common.Truncate(fmt.Sprintf("part %d/%d: %s", m.index+1, len(parts), strings.ToUpper(string(m.part()))), w))
}

// lessonHelp is the short help for the current part.
type lessonHelp struct {
	k    LessonKeyMap
	part lessons.Part
}

func (h lessonHelp) ShortHelp() []key.Binding {
	k := h.k
	switch h.part {
	case lessons.PartPredict:
		c := k.Choose
		c.SetHelp("1-9", "choose")
		return []key.Binding{c, k.Next, k.Prev, k.Help, k.Quit}
	case lessons.PartPerform:
		e := k.Enter
		e.SetHelp("enter", "perform")
		return []key.Binding{e, k.Next, k.Prev, k.Focus, k.Help, k.Quit}
	case lessons.PartExperiment:
		return []key.Binding{k.Shell, k.Refresh, k.Focus, k.Next, k.Prev, k.Help, k.Quit}
	case lessons.PartChallenge:
		return []key.Binding{k.Check, k.Hint, k.Solution, k.Shell, k.Next, k.Prev, k.Help, k.Quit}
	}
	return []key.Binding{k.Next, k.Prev, k.Down, k.Focus, k.Help, k.Quit}
}

func (h lessonHelp) FullHelp() [][]key.Binding { return h.k.FullHelp() }
