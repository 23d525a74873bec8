package lesson

import (
	"fmt"
	"slices"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/behalf"
	"github.com/nslab/nslab/ui/components/challenge"
	"github.com/nslab/nslab/ui/components/confirm"
	"github.com/nslab/nslab/ui/components/liveviews"
	"github.com/nslab/nslab/ui/components/partbar"
	"github.com/nslab/nslab/ui/components/prediction"
	"github.com/nslab/nslab/ui/components/shellpane"
	"github.com/nslab/nslab/ui/components/statusbar"
	"github.com/nslab/nslab/ui/components/syscalllog"
	"github.com/nslab/nslab/ui/components/textpane"
)

// KeyMap is the page's own keys; the components hold theirs.
type KeyMap struct {
	Enter     key.Binding // pick the choice, perform, finish
	Refresh   key.Binding
	Shell     key.Binding // the shell pane
	FullShell key.Binding // the shell on the whole terminal
	Back      key.Binding
	Quit      key.Binding
	ForceQuit key.Binding // handled by the program; shown in the full help
}

// DefaultKeyMap is the page's default keys.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Enter:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "do it")),
		Refresh:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		Shell:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "shell pane")),
		FullShell: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "full shell")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "home")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
	}
}

// help is the keys help for the current part: a help.KeyMap built from
// the page's and its components' key maps.
type help struct {
	part       lessons.Part
	asking     bool // the solution's question is open
	keys       KeyMap
	parts      partbar.KeyMap
	text       textpane.KeyMap
	views      liveviews.KeyMap
	prediction prediction.KeyMap
	challenge  challenge.KeyMap
	confirm    confirm.KeyMap
	status     statusbar.KeyMap
	shell      shellpane.KeyMap
	log        syscalllog.KeyMap
	behalf     behalf.KeyMap
	class      bool // a class learner's page: behalf's key works
	logFocus   bool
	shellOpen  bool
	shellFocus bool
}

// helpFor is the help of m's current part.
func helpFor(m Model) help {
	return help{
		part: m.Part(), asking: m.challenge.Confirm.Asking(), keys: m.Keys,
		parts: m.parts.KeyMap, text: m.text.KeyMap, views: m.views.KeyMap, prediction: m.prediction.KeyMap,
		challenge: m.challenge.KeyMap, confirm: m.challenge.Confirm.KeyMap, status: m.status.KeyMap,
		shell: m.shell.KeyMap, log: m.log.KeyMap, behalf: m.behalf.KeyMap, class: m.behalf.Active(), logFocus: m.log.Focused(), shellOpen: m.shell.Open(), shellFocus: m.shell.Focused(),
	}
}

func (h help) ShortHelp() []key.Binding {
	k, parts, st, views := h.keys, h.parts, h.status, h.views
	if h.asking {
		return h.confirm.ShortHelp()
	}
	if h.logFocus {
		back := h.log.Focus
		back.SetHelp("l/esc", "back")
		return []key.Binding{h.log.Scroll, back, st.Help, k.Quit}
	}
	if h.shellFocus {
		// Every other key is the shell's.
		return []key.Binding{h.shell.Focus}
	}
	if h.shellOpen {
		return []key.Binding{h.shell.Focus, h.shell.Zoom, k.Shell, views.Focus, h.log.Focus, parts.Next, parts.Prev, st.Help, k.Quit}
	}
	switch h.part {
	case lessons.PartPredict:
		c := h.prediction.Choose
		c.SetHelp("1-9", "choose")
		return []key.Binding{c, parts.Next, parts.Prev, st.Help, k.Quit}
	case lessons.PartPerform:
		e := k.Enter
		e.SetHelp("enter", "perform")
		if h.class {
			return []key.Binding{e, h.behalf.Focus, parts.Next, parts.Prev, views.Focus, h.log.Focus, st.Help, k.Quit}
		}
		return []key.Binding{e, parts.Next, parts.Prev, views.Focus, h.log.Focus, st.Help, k.Quit}
	case lessons.PartExperiment:
		return []key.Binding{k.Shell, k.FullShell, k.Refresh, views.Focus, h.log.Focus, parts.Next, parts.Prev, st.Help, k.Quit}
	case lessons.PartChallenge:
		c := h.challenge
		return []key.Binding{c.Check, c.Hint, c.Solution, k.Shell, parts.Next, parts.Prev, st.Help, k.Quit}
	}
	return []key.Binding{parts.Next, parts.Prev, h.text.Down, views.Focus, st.Help, k.Quit}
}

func (h help) FullHelp() [][]key.Binding {
	if h.asking {
		return h.confirm.FullHelp()
	}
	k, c := h.keys, h.challenge
	last := []key.Binding{k.Back, h.status.Help, k.Quit, k.ForceQuit}
	if h.class {
		last = append([]key.Binding{h.behalf.Focus}, last...)
	}
	return [][]key.Binding{
		{h.parts.Next, h.parts.Prev, k.Enter, h.text.Up, h.text.Down, h.text.PageDown},
		{h.views.Choose, h.views.Focus, h.views.FocusBack, k.Refresh, k.Shell, k.FullShell, h.log.Focus},
		{h.shell.Focus, h.shell.Zoom, c.Check, c.Hint, c.Solution},
		last,
	}
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
			m.emit(class.Event{Kind: class.SolutionShown})
			// Progress tells a shown solution from solving it alone.
			id := m.lesson.ID
			shown := func() tea.Msg {
				return ProgressMsg{Apply: func(p *lessons.Progress) { p.RecordSolutionShown(id) }}
			}
			if !m.performed {
				return m.SetStatus("the solution is shown; perform the lesson first to apply it", false).layout(), shown
			}
			m.solving = true
			m = m.SetStatus("applying the solution inside the sandbox…", false)
			return m.layout(), tea.Sequence(shown, SolveCmd(m.common.Ctx, m.id, m.sess))
		case confirm.No:
			return m.SetStatus("solution not shown", false).layout(), nil
		}
		return m, nil
	}
	m = m.SetStatus("", false)
	k, views, text := m.Keys, m.views.KeyMap, m.text.KeyMap
	if m.peers.Focused() {
		switch m.wholeKey(msg, m.peers.KeyMap.Focus) {
		case wholeClose:
			m.peers = m.peers.SetFocus(false)
			return m.layout(), nil
		case wholeOwn:
			m.peers, _ = m.peers.Update(msg)
			return m, nil
		}
	}
	if m.behalf.Focused() {
		switch m.wholeKey(msg, m.behalf.KeyMap.Focus) {
		case wholeClose:
			m.behalf = m.behalf.SetFocus(false)
			return m.layout(), nil
		case wholeOwn:
			m.behalf, _ = m.behalf.Update(msg)
			return m, nil
		}
	}
	if m.log.Focused() {
		switch m.wholeKey(msg, m.log.KeyMap.Focus) {
		case wholeClose:
			m.log = m.log.SetFocus(false)
			return m.layout(), nil
		case wholeOwn:
			m.log, _ = m.log.Update(msg)
			return m, nil
		}
	}
	switch {
	case m.lesson.Logic.Peers != nil && key.Matches(msg, m.peers.KeyMap.Focus):
		m.peers = m.peers.SetFocus(true)
		m = m.SetStatus("the mount peer groups whole: ↑↓ pgup pgdn scroll, m or esc goes back", false)
		return m.layout(), nil
	case m.behalf.Active() && key.Matches(msg, m.behalf.KeyMap.Focus):
		m.behalf = m.behalf.SetFocus(true)
		m = m.SetStatus("what the class server did for you: ↑↓ pgup pgdn scroll, i or esc goes back", false)
		return m.layout(), nil
	case key.Matches(msg, m.log.KeyMap.Focus):
		m.log = m.log.SetFocus(true)
		m = m.SetStatus("the whole syscall log: ↑↓ pgup pgdn home end scroll, l or esc goes back", false)
		return m.layout(), nil
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
	case key.Matches(msg, m.shell.KeyMap.Focus):
		if !m.shell.Open() {
			return m.SetStatus("no shell pane open: s opens one", false), nil
		}
		m.shell = m.shell.SetFocus(true)
		return m.layout(), nil
	case key.Matches(msg, m.shell.KeyMap.Zoom):
		if !m.shell.Open() {
			return m.SetStatus("no shell pane open: s opens one", false), nil
		}
		m.shell = m.shell.SetZoom(!m.shell.Zoomed())
		return m.layout(), nil
	case key.Matches(msg, k.Shell), key.Matches(msg, k.FullShell):
		if !m.performed || m.performErr != "" {
			return m.SetStatus(m.needPerform("a shell inside")), nil
		}
		pane := key.Matches(msg, k.Shell)
		if pane && m.shell.Open() {
			m.shell = m.shell.SetFocus(true)
			return m.layout(), nil
		}
		if pane {
			m = m.SetStatus("starting a shell inside the sandbox…", false)
		}
		return m, ShellCmd(m.id, m.sess, pane)
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
		m.emit(class.Event{Kind: class.HintShown, Hints: n})
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
	return what + " needs the sandbox: go to Perform (" + m.toPerform() + ") and press enter", false
}

// toPerform names the key that goes towards Perform from here.
func (m Model) toPerform() string {
	ps := lessons.Parts()
	if slices.Index(ps, m.Part()) > slices.Index(ps, lessons.PartPerform) {
		return m.parts.KeyMap.Prev.Keys()[0]
	}
	return m.parts.KeyMap.Next.Keys()[0]
}

func (m Model) move(next bool) (Model, tea.Cmd) {
	if next && m.atLimit() {
		return m.SetStatus(LimitStatus, false), nil
	}
	moved := false
	err := guardMove(func() {
		if next {
			moved = m.sess.Next()
		} else {
			moved = m.sess.Prev()
		}
		m.parts = m.parts.SetIndex(m.sess.Index())
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
	m.emit(class.Event{Kind: class.PartEntered, Part: m.Part()})
	return m.layout(), m.markPart()
}

// guardMove runs a move of the session, a panic in it made an error.
func guardMove(f func()) error {
	return common.Guard("move", func() error { f(); return nil })
}

func (m Model) choose(n int) (Model, tea.Cmd) {
	var ok bool
	if m.prediction, ok = m.prediction.Choose(n); !ok {
		return m, nil
	}
	m = m.SetStatus(fmt.Sprintf("your prediction: %d. The kernel decides after Perform (%s).", n+1, m.toPerform()), false)
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

// What a key does while a component is open whole.
const (
	wholeClose = iota // its focus key or back: close it
	wholeOwn          // the component's: it scrolls
	wholePage         // quit and help: the page's
)

// wholeKey routes a key while a component opened with focus is whole.
func (m Model) wholeKey(msg tea.KeyPressMsg, focus key.Binding) int {
	switch {
	case key.Matches(msg, focus), key.Matches(msg, m.Keys.Back):
		return wholeClose
	case key.Matches(msg, m.Keys.Quit), key.Matches(msg, m.status.KeyMap.Help):
		return wholePage
	}
	return wholeOwn
}
