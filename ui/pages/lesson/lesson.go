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
	"reflect"
	"slices"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/behalf"
	"github.com/nslab/nslab/ui/components/challenge"
	"github.com/nslab/nslab/ui/components/liveviews"
	"github.com/nslab/nslab/ui/components/partbar"
	"github.com/nslab/nslab/ui/components/prediction"
	"github.com/nslab/nslab/ui/components/propagation"
	"github.com/nslab/nslab/ui/components/shellpane"
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
	shell      shellpane.Model
	status     statusbar.Model
	peers      propagation.Model // drawn for lessons with Logic.Peers
	behalf     behalf.Model      // in a class: what the server did for the learner

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

	// The trace: nslab's calls (the session's) and the learner's (the
	// shell panes' tracers: of shells that ended, and of the open one).
	sessEvents, learnerDone, learnerOpen []sandbox.Event

	textBody, textBodyKey string // the rendered Markdown of the part, and what it was rendered for
	textContent           string // what the text pane holds

	frame *frameCache // what View drew last (layout.go)

	report func(class.Event) // where the learner's doings go (a class); nil: nowhere
	limit  lessons.Part      // follow mode: the last part the learner may go to ("" none)
}

// New is the page over an open session. id tells this screen's Cmd
// results from an earlier one's.
func New(c common.Common, id int, sess Session, refresh time.Duration) Model {
	if refresh <= 0 {
		refresh = time.Second
	}
	l := sess.Lesson()
	m := Model{
		Keys: DefaultKeyMap(), common: c, id: id, sess: sess, lesson: l, refresh: refresh,
		parts:      partbar.New(c),
		text:       textpane.New(c),
		prediction: prediction.New(c, l.Prediction.Question, l.Prediction.Choices),
		challenge:  challenge.New(c, l.TaskLine(), l.Challenge.Hints, l.Challenge.Solution),
		views:      liveviews.New(c, l.Logic.Views, refresh), // the lesson's own views first; the namespaces view is always there too
		log:        syscalllog.New(c),
		shell:      shellpane.New(c),
		status:     statusbar.New(c),
		peers:      propagation.New(c),
		frame:      &frameCache{},
		behalf:     behalf.New(c),
	}
	_ = common.Guard("confinement", func() error { m.behalf = m.behalf.SetNote(sess.ConfinementNote()); return nil })
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
	m.shell = m.shell.SetStyles(st)
	m.status = m.status.SetStyles(st)
	m.peers = m.peers.SetStyles(st)
	m.behalf = m.behalf.SetStyles(st)
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

// setEvents shows nslab's calls and the learner's, in time order.
func (m Model) setEvents(sess []sandbox.Event) Model {
	m.sessEvents = sess
	if len(m.learnerDone)+len(m.learnerOpen) == 0 {
		m.log = m.log.SetEvents(sess)
		return m
	}
	all := make([]sandbox.Event, 0, len(sess)+len(m.learnerDone)+len(m.learnerOpen))
	all = append(append(append(all, sess...), m.learnerDone...), m.learnerOpen...)
	slices.SortStableFunc(all, func(a, b sandbox.Event) int { return a.Time.Compare(b.Time) })
	m.log = m.log.SetEvents(all)
	return m
}

// ShellFocused reports whether keys go to the shell pane.
func (m Model) ShellFocused() bool { return m.shell.Focused() }

// ShellOpen reports whether the shell pane runs a shell.
func (m Model) ShellOpen() bool { return m.shell.Open() }

// Update routes keys, the mouse wheel and the Cmds' results. Leaving the
// lesson ends the pane's shell.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	m, cmd := m.update(msg)
	if m.closing && m.shell.Open() {
		var c tea.Cmd
		m.shell, c = m.shell.Close()
		cmd = tea.Batch(cmd, c)
	}
	return m, cmd
}

func (m Model) update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if m.shell.Focused() {
			if key.Matches(msg, m.shell.KeyMap.Focus) {
				m.shell = m.shell.SetFocus(false)
				return m.SetStatus("", false).layout(), nil
			}
			m.shell, _ = m.shell.Update(msg)
			return m, nil
		}
		return m.key(msg)
	case tea.PasteMsg:
		m.shell, _ = m.shell.Update(msg)
		return m, nil
	case shellpane.StartedMsg:
		if msg.Err != nil {
			return m.SetStatus("shell: "+msg.Err.Error(), true).layout(), nil
		}
		// The pane's size first, the one the shell was started at: the
		// pane resizes the new shell to its own size, and a stale one
		// (the window's, from before the pane opened) widened every
		// line of the emulator's two screens, which the layout then cut
		// back while the lines kept their cells (0.6 MB a learner), and
		// sent the shell two SIGWINCHes.
		pw, ph, _ := m.paneSize()
		m.shell = m.shell.SetSize(pw, ph)
		var cmd tea.Cmd
		m.shell, cmd = m.shell.Update(msg)
		m = m.SetStatus("", false)
		return m.layout(), cmd
	case shellpane.OutputMsg:
		var cmd tea.Cmd
		m.shell, cmd = m.shell.Update(msg)
		if msg.Term == m.shell.Term() {
			if ev := msg.Term.Events(); len(ev) != len(m.learnerOpen) {
				m.learnerOpen = ev
				m = m.setEvents(m.sessEvents)
			}
		}
		return m, cmd
	case shellpane.SettledMsg:
		// The command that wrote is probably done: look at the sandbox
		// now rather than at the next tick. Output that only echoed the
		// characters of a command line changed nothing there: a class
		// typing would double its observations for nothing.
		var cmd tea.Cmd
		acted := m.shell.Acted()
		m.shell, cmd = m.shell.Update(msg)
		if !acted {
			return m, cmd
		}
		return m, tea.Batch(cmd, m.observe())
	case shellpane.ExitedMsg:
		if msg.Term == m.shell.Term() && msg.Term != nil {
			m.learnerDone = append(m.learnerDone, msg.Term.Events()...)
			m.learnerOpen = nil
			m = m.setEvents(m.sessEvents)
		}
		open := m.shell.Open()
		m.shell, _ = m.shell.Update(msg)
		if open && !m.shell.Open() {
			s := "the shell ended; s opens a new one"
			if msg.Err != nil {
				s = "the shell ended (" + msg.Err.Error() + "); s opens a new one"
			}
			m = m.SetStatus(s, false)
			m.observing = false
			return m.layout(), m.observe()
		}
		return m, nil
	case tea.MouseWheelMsg:
		if m.log.Focused() {
			m.log, _ = m.log.Update(msg)
			return m, nil
		}
		if m.shell.Focused() {
			m.shell, _ = m.shell.Update(msg)
			return m, nil
		}
		if m.peers.Focused() {
			m.peers, _ = m.peers.Update(msg)
			return m, nil
		}
		if m.behalf.Focused() {
			m.behalf, _ = m.behalf.Update(msg)
			return m, nil
		}
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
		m = m.setEvents(msg.Events)
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
		if msg.Pane {
			w, h := shellpane.ScreenSize(m.paneSize())
			return m, shellpane.Start(m.common.Ctx, msg.Cmd, w, h, true)
		}
		id := m.id
		// On a pty of its own, relayed: the shell's job control must never
		// take nslab's terminal (sandbox.FullScreenShell).
		shells := m.common.Shells
		if shells == nil {
			shells = m.common.Ctx
		}
		sh := sandbox.NewFullScreenShell(shells, msg.Cmd)
		if m.common.Window != nil {
			sh.SetWindow(m.common.Window)
		}
		exec := tea.Exec(sh, func(err error) tea.Msg { return ShellDoneMsg{Screen: common.Screen{ID: id}, Err: err} })
		if m.common.Input == nil {
			return m, exec
		}
		// A shared input (SSH) is handed to the shell before bubbletea
		// releases the terminal: its reader cannot be cancelled
		// mid-read, so it must already have stopped reading.
		in, ctx := m.common.Input, m.common.Ctx
		return m, func() tea.Msg {
			r, err := in.Take(ctx)
			if err != nil {
				return ShellDoneMsg{Screen: common.Screen{ID: id}, Err: err}
			}
			sh.SetInput(r)
			return exec()
		}
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
		m = m.setEvents(msg.Events)
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
	if msg.Err == nil && m.unchanged(msg) {
		// A live refresh that saw what the last one saw (most of them):
		// nothing on the page changes, so nothing is drawn or laid out.
		o := msg.Obs
		m.obs = &o
		m.views = m.views.SetObservation(o)
		return m, next
	}
	if msg.Events != nil {
		m = m.setEvents(msg.Events)
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
	m.peers = m.peers.SetDiagram(o.Peers)
	m.behalf = m.behalf.SetOps(o.OnBehalf)
	var cmd tea.Cmd
	if c := m.prediction.Choice(); c >= 0 && m.prediction.Open() && !m.answering {
		m.answering = true
		cmd = AnswerCmd(m.id, m.sess, c, o)
	}
	return m.layout(), tea.Batch(cmd, next)
}

// unchanged reports whether an observation changes nothing the page
// shows: the views show it already, and its facts, peer diagram and trace
// are the ones shown. A prediction waiting for an observation to be
// checked against is a change.
func (m Model) unchanged(msg ObservedMsg) bool {
	if m.obs == nil || !m.views.Shows(&msg.Obs) {
		return false
	}
	if c := m.prediction.Choice(); c >= 0 && m.prediction.Open() && !m.answering {
		return false
	}
	return slices.Equal(m.facts, msg.Facts) && reflect.DeepEqual(m.obs.Peers, msg.Obs.Peers) &&
		(msg.Events == nil || syscalllog.Same(msg.Events, m.sessEvents))
}

func (m Model) answeredMsg(msg AnsweredMsg) (Model, tea.Cmd) {
	m.answering = false
	if msg.Err != nil {
		return m.SetStatus(msg.Err.Error(), true).layout(), nil
	}
	m.prediction = m.prediction.SetVerdict(prediction.Verdict{Choice: msg.Choice, Correct: msg.Correct, Right: msg.Right, Why: msg.Why})
	id, right := m.lesson.ID, msg.Correct
	m.emit(class.Event{Kind: class.PredictionAnswered, Right: right})
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
	m.emit(class.Event{Kind: class.ChallengeSolved})
	m.text = m.text.GotoBottom()
	id, hints, part := m.lesson.ID, m.challenge.HintsUsed(), m.Part()
	return m, func() tea.Msg {
		return ProgressMsg{Apply: func(p *lessons.Progress) {
			p.RecordChallenge(id, true, hints)
			// The part the learner is at is the last one marked: Cmds run
			// concurrently, and a move made after this check may have been
			// applied first.
			at := p.Get(id).Part
			if at == "" {
				at = part
			}
			p.Mark(id, lessons.StatusDone, at)
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
