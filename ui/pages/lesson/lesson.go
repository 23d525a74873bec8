// Package lesson is the lesson page: it holds one open lesson's state
// (the session, the part, what was performed and observed) and routes
// keys and Cmd results to its components — the part bar, the text pane,
// the prediction, the challenge, the live views, the syscall log and the
// status bar.
//
// It drives the lesson only through Session, and only from Cmds (cmds.go)
// that return typed Msgs (msgs.go): no IO in Update or View, no syscall.
// Progress is the program's: the page asks for it with ProgressMsg.
package lesson

import (
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/challenge"
	"github.com/nslab/nslab/ui/components/confirm"
	"github.com/nslab/nslab/ui/components/liveviews"
	"github.com/nslab/nslab/ui/components/partbar"
	"github.com/nslab/nslab/ui/components/prediction"
	"github.com/nslab/nslab/ui/components/statusbar"
	"github.com/nslab/nslab/ui/components/syscalllog"
	"github.com/nslab/nslab/ui/components/textpane"
)

// Model is the lesson page.
type Model struct {
	Keys KeyMap

	common  common.Common
	id      int // this screen's id: Cmd results carry it
	sess    Session
	lesson  lessons.Lesson
	refresh time.Duration
	lock    string // why this machine cannot perform it ("" = it can)
	// checkingLocks: the machine checks are still running; Perform waits.
	checkingLocks bool

	parts      partbar.Model
	text       textpane.Model
	prediction prediction.Model
	challenge  challenge.Model
	views      liveviews.Model
	log        syscalllog.Model
	status     statusbar.Model

	facts      []lessons.Fact
	obs        *lessons.Observation // the last observation (for the verdict)
	performing bool
	performed  bool
	performErr string
	observing  bool
	answering  bool
	solving    bool
	fetching   bool // an EventsCmd is out
	tickGen    int  // the live refresh chain that is current
	closing    bool // asks the program to close the lesson and go home

	textBody, textBodyKey string // the rendered Markdown of the part, and what it was rendered for
	textContent           string // what the text pane holds
}

// New is the page over an open session. id tells this screen's Cmd
// results from an earlier one's.
func New(c common.Common, id int, sess Session, refresh time.Duration) Model {
	if refresh <= 0 {
		refresh = time.Second
	}
	l := sess.Lesson()
	lg := l.Logic
	m := Model{
		Keys: DefaultKeyMap(), common: c, id: id, sess: sess, lesson: l, refresh: refresh,
		parts:      partbar.New(c),
		text:       textpane.New(c),
		prediction: prediction.New(c, lg.Prediction.Question, lg.Prediction.Choices),
		challenge:  challenge.New(c, lg.Challenge.Task, lg.Challenge.Hints, lg.Challenge.Solution),
		views:      liveviews.New(c, lg.Views, refresh),
		log:        syscalllog.New(c),
		status:     statusbar.New(c),
	}
	_ = common.Guard("part", func() error { m.parts = m.parts.SetIndex(sess.Index()); return nil })
	m.performed = sess.Performed()
	return m.layout()
}

// Init starts the live refresh and records the lesson as opened.
func (m Model) Init() tea.Cmd {
	var live tea.Cmd
	if m.performed {
		live = LiveCmd(m.common.Ctx, m.id, m.tickGen, m.sess, m.refresh)
	}
	return tea.Batch(live, m.markPart())
}

// Session is the session the page drives.
func (m Model) Session() Session { return m.sess }

// Lesson is the lesson shown.
func (m Model) Lesson() lessons.Lesson { return m.lesson }

// Part is the part shown.
func (m Model) Part() lessons.Part { return m.parts.Part() }

// Busy reports whether a Cmd the page waits on is out (perform, observe,
// answer, check, solve).
func (m Model) Busy() bool {
	return m.performing || m.observing || m.answering || m.challenge.Checking() || m.solving
}

// Observed reports whether the live views show an observation.
func (m Model) Observed() bool { return m.views.Observed() }

// Closing reports whether the learner asked to leave the lesson.
func (m Model) Closing() bool { return m.closing }

// SetSize sets the area the page draws in.
func (m Model) SetSize(w, h int) Model {
	m.common = m.common.SetSize(w, h)
	return m.layout()
}

// SetStyles redraws the page with st.
func (m Model) SetStyles(st *common.Styles) Model {
	m.common.Styles = st
	m.parts = m.parts.SetStyles(st)
	m.text = m.text.SetStyles(st)
	m.prediction = m.prediction.SetStyles(st)
	m.challenge = m.challenge.SetStyles(st)
	m.views = m.views.SetStyles(st)
	m.log = m.log.SetStyles(st)
	m.status = m.status.SetStyles(st)
	m.textBodyKey = ""
	return m.layout()
}

// SetLock sets why this machine cannot perform the lesson ("" = it can);
// checking says the checks are still running.
func (m Model) SetLock(lock string, checking bool) Model {
	m.lock, m.checkingLocks = lock, checking
	return m.layout()
}

// SetStatus shows a line of information (or an error) under the body.
func (m Model) SetStatus(s string, isErr bool) Model {
	m.status = m.status.SetStatus(s, isErr)
	return m
}

func (m Model) markPart() tea.Cmd {
	id, part := m.lesson.ID, m.Part()
	return func() tea.Msg {
		return ProgressMsg{Apply: func(p *lessons.Progress) { p.Mark(id, lessons.StatusInProgress, part) }}
	}
}

// Update routes keys, the mouse wheel and the Cmds' results.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.MouseWheelMsg:
		if m.views.Focus() > 0 {
			m.views, _ = m.views.Update(msg)
		} else {
			m.text, _ = m.text.Update(msg)
		}
		return m, nil
	case TraceMsg:
		if m.fetching {
			return m, nil
		}
		m.fetching = true
		return m, EventsCmd(m.id, m.sess)
	}
	if common.ForOther(msg, m.id) {
		return m, nil
	}
	switch msg := msg.(type) {
	case EventsMsg:
		m.fetching = false
		m.log = m.log.SetEvents(msg.Events)
		return m.layout(), nil
	case PerformedMsg:
		return m.performedMsg(msg)
	case ObservedMsg:
		return m.observedMsg(msg)
	case AnsweredMsg:
		return m.answeredMsg(msg)
	case CheckedMsg:
		return m.checkedMsg(msg)
	case SolvedMsg:
		m.solving = false
		if msg.Err != nil {
			return m.SetStatus("solution: "+msg.Err.Error(), true).layout(), nil
		}
		m.challenge = m.challenge.SetChecking(true)
		m = m.SetStatus("solution applied; checking…", false)
		return m.layout(), tea.Batch(CheckCmd(m.common.Ctx, m.id, m.sess), m.observe())
	case ShellReadyMsg:
		if msg.Err != nil {
			return m.SetStatus("shell: "+msg.Err.Error(), true), nil
		}
		id := m.id
		return m, tea.ExecProcess(msg.Cmd, func(err error) tea.Msg { return ShellDoneMsg{Screen: common.Screen{ID: id}, Err: err} })
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

func (m Model) performedMsg(msg PerformedMsg) (Model, tea.Cmd) {
	m.performing, m.performed = false, true
	if msg.Events != nil {
		m.log = m.log.SetEvents(msg.Events)
	}
	if msg.Err != nil {
		m.performErr = msg.Err.Error()
		m = m.SetStatus("perform failed: "+msg.Err.Error(), true)
	} else {
		m = m.SetStatus("performed: the syscalls are in the log, the views are live", false)
	}
	// Observe now, and start the live refresh.
	m.observing = true
	m.tickGen++
	m = m.layout()
	m.text = m.text.GotoBottom() // the outcome is at the end of the text
	return m, tea.Batch(ObserveCmd(m.common.Ctx, m.id, m.sess), LiveCmd(m.common.Ctx, m.id, m.tickGen, m.sess, m.refresh))
}

func (m Model) observedMsg(msg ObservedMsg) (Model, tea.Cmd) {
	var next tea.Cmd
	if msg.Live {
		if msg.Gen != m.tickGen {
			return m, nil // an old chain: it ends here
		}
		next = LiveCmd(m.common.Ctx, m.id, m.tickGen, m.sess, m.refresh)
	} else {
		m.observing = false
	}
	if msg.Events != nil {
		m.log = m.log.SetEvents(msg.Events)
	}
	if msg.Err != nil {
		m.views = m.views.SetError(msg.Err.Error())
		if errors.Is(msg.Err, common.ErrPanic) {
			m = m.SetStatus(msg.Err.Error(), true)
		}
		return m.layout(), next
	}
	o := msg.Obs
	m.obs, m.facts = &o, msg.Facts
	m.views = m.views.SetObservation(o)
	var cmd tea.Cmd
	if c := m.prediction.Choice(); c >= 0 && m.prediction.Open() && !m.answering {
		m.answering = true
		cmd = AnswerCmd(m.id, m.sess, c, o)
	}
	return m.layout(), tea.Batch(cmd, next)
}

func (m Model) answeredMsg(msg AnsweredMsg) (Model, tea.Cmd) {
	m.answering = false
	if msg.Err != nil {
		return m.SetStatus(msg.Err.Error(), true).layout(), nil
	}
	m.prediction = m.prediction.SetVerdict(prediction.Verdict{Choice: msg.Choice, Correct: msg.Correct, Right: msg.Right, Why: msg.Why})
	id, right := m.lesson.ID, msg.Correct
	m = m.layout()
	if p := m.Part(); p == lessons.PartPredict || p == lessons.PartPerform {
		m.text = m.text.GotoBottom() // the verdict is at the end of the text
	}
	return m, func() tea.Msg {
		return ProgressMsg{Apply: func(p *lessons.Progress) { p.RecordPrediction(id, right) }}
	}
}

func (m Model) checkedMsg(msg CheckedMsg) (Model, tea.Cmd) {
	m.challenge = m.challenge.SetResult(challenge.Result{OK: msg.OK, Detail: msg.Detail, Err: msg.Err})
	if msg.Err != nil {
		return m.SetStatus("check: "+msg.Err.Error(), true).layout(), nil
	}
	if !msg.OK {
		m = m.SetStatus("not yet: "+msg.Detail, false).layout()
		m.text = m.text.GotoBottom()
		return m, nil
	}
	m = m.SetStatus(common.SymOK+" challenge solved: "+msg.Detail, false).layout()
	m.text = m.text.GotoBottom()
	id, hints, part := m.lesson.ID, m.challenge.HintsUsed(), m.Part()
	return m, func() tea.Msg {
		return ProgressMsg{Apply: func(p *lessons.Progress) {
			p.RecordChallenge(id, true, hints)
			p.Mark(id, lessons.StatusDone, part)
		}}
	}
}

func (m *Model) observe() tea.Cmd {
	if !m.performed || m.observing {
		return nil
	}
	m.observing = true
	return ObserveCmd(m.common.Ctx, m.id, m.sess)
}

func (m Model) predicting() bool {
	return m.Part() == lessons.PartPredict && m.prediction.Open()
}

// key routes a key: the open question takes every key; then the page's
// and the components' keys, in the order of the old single-model key
// table, so that no key changed meaning.
func (m Model) key(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	if m.challenge.Confirm.Asking() {
		m.challenge, _ = m.challenge.Update(msg)
		switch m.challenge.Confirm.Answer() {
		case confirm.Yes:
			m.challenge = m.challenge.Reveal()
			if !m.performed {
				return m.SetStatus("the solution is shown; perform the lesson first to apply it", false).layout(), nil
			}
			m.solving = true
			m = m.SetStatus("applying the solution inside the sandbox…", false)
			return m.layout(), SolveCmd(m.common.Ctx, m.id, m.sess)
		case confirm.No:
			return m.SetStatus("solution not shown", false).layout(), nil
		}
		return m, nil
	}
	m = m.SetStatus("", false)
	k, views, text := m.Keys, m.views.KeyMap, m.text.KeyMap
	switch {
	case key.Matches(msg, m.status.KeyMap.Help):
		m.status, _ = m.status.Update(msg)
		return m.layout(), nil
	case key.Matches(msg, k.Back):
		if m.views.Focus() > 0 {
			m.views = m.views.FocusOn(0)
			return m.layout(), nil
		}
		m.closing = true
		return m, nil
	case key.Matches(msg, k.Quit):
		m.closing = true
		return m, nil
	case key.Matches(msg, m.parts.KeyMap.Next):
		return m.move(true)
	case key.Matches(msg, m.parts.KeyMap.Prev):
		return m.move(false)
	case key.Matches(msg, k.Enter):
		return m.enter()
	case key.Matches(msg, views.Choose):
		n := int(msg.String()[0] - '1')
		if m.predicting() {
			return m.choose(n)
		}
		if n < len(m.views.Views()) {
			m.views = m.views.FocusOn(n + 1)
		}
		return m.layout(), nil
	case key.Matches(msg, views.Focus), key.Matches(msg, views.FocusBack):
		m.views, _ = m.views.Update(msg)
		return m.layout(), nil
	case key.Matches(msg, text.Up), key.Matches(msg, text.Down):
		switch {
		case m.predicting():
			m.prediction, _ = m.prediction.Update(msg)
			return m.layout(), nil
		case m.views.Focus() > 0:
			m.views, _ = m.views.Update(msg)
		default:
			m.text, _ = m.text.Update(msg)
		}
		return m, nil
	case key.Matches(msg, text.PageUp), key.Matches(msg, text.PageDown):
		if m.views.Focus() > 0 {
			m.views, _ = m.views.Update(msg)
		} else {
			m.text, _ = m.text.Update(msg)
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
		return m, ShellCmd(m.id, m.sess)
	}
	return m.challengeKey(msg)
}

// challengeKey handles the challenge's keys.
func (m Model) challengeKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	c := m.challenge.KeyMap
	inChallenge := m.Part() == lessons.PartChallenge
	switch {
	case key.Matches(msg, c.Check):
		if !inChallenge {
			return m.SetStatus("c checks the challenge: it is in the Challenge part", false), nil
		}
		if !m.performed || m.performErr != "" {
			return m.SetStatus(m.needPerform("the challenge")), nil
		}
		if m.challenge.Checking() {
			return m, nil
		}
		m.challenge = m.challenge.SetChecking(true)
		m = m.SetStatus("checking the kernel's state…", false)
		return m.layout(), CheckCmd(m.common.Ctx, m.id, m.sess)
	case key.Matches(msg, c.Hint):
		if !inChallenge {
			return m.SetStatus("hints are for the challenge: it is in the Challenge part", false), nil
		}
		var ok bool
		if m.challenge, ok = m.challenge.Hint(); !ok {
			return m.SetStatus("no more hints; v shows the solution", false), nil
		}
		m = m.layout()
		m.text = m.text.GotoBottom()
		id, n := m.lesson.ID, m.challenge.HintsUsed()
		return m, func() tea.Msg {
			return ProgressMsg{Apply: func(p *lessons.Progress) { p.RecordChallenge(id, false, n) }}
		}
	case key.Matches(msg, c.Solution):
		if !inChallenge {
			return m.SetStatus("the solution is in the Challenge part", false), nil
		}
		m.challenge = m.challenge.AskSolution()
		return m.SetStatus(challenge.Question, false).layout(), nil
	}
	return m, nil
}

// needPerform is the status for an action that needs the sandbox.
func (m Model) needPerform(what string) (string, bool) {
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

func (m Model) move(next bool) (Model, tea.Cmd) {
	moved := false
	err := common.Guard("move", func() error {
		if next {
			moved = m.sess.Next()
		} else {
			moved = m.sess.Prev()
		}
		m.parts = m.parts.SetIndex(m.sess.Index())
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
	m.text = m.text.GotoTop()
	return m.layout(), m.markPart()
}

func (m Model) choose(n int) (Model, tea.Cmd) {
	var ok bool
	if m.prediction, ok = m.prediction.Choose(n); !ok {
		return m, nil
	}
	m = m.SetStatus(fmt.Sprintf("your prediction: %d. The kernel decides after Perform (n).", n+1), false)
	var cmd tea.Cmd
	if m.obs != nil && !m.answering {
		m.answering = true
		cmd = AnswerCmd(m.id, m.sess, n, *m.obs)
	}
	return m.layout(), cmd
}

func (m Model) enter() (Model, tea.Cmd) {
	switch m.Part() {
	case lessons.PartPredict:
		if m.predicting() {
			return m.choose(m.prediction.Cursor())
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
		return m.layout(), PerformCmd(m.common.Ctx, m.id, m.sess)
	case lessons.PartRecap:
		m.closing = true
		return m, nil
	}
	return m.move(true)
}
