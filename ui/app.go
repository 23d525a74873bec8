package ui

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/pages/home"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// SessionFactory opens a lesson's session.
type SessionFactory func(lessons.Lesson) lesson.Session

// openLessonMsg asks the program to open a lesson (the start lesson).
type openLessonMsg struct{ ID string }

// Below this size the screens cannot be drawn sensibly; a message says so.
const (
	MinWidth  = 60
	MinHeight = 16
)

// openSessions remembers every lesson session the program opened, so
// that every way out of RunProgram closes them all. It is shared with the
// Cmds that close a session, hence the lock.
type openSessions struct {
	mu   sync.Mutex
	open []lesson.Session
}

func (s *openSessions) add(x lesson.Session) {
	s.mu.Lock()
	s.open = append(s.open, x)
	s.mu.Unlock()
}

func (s *openSessions) remove(x lesson.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, o := range s.open {
		if o == x {
			s.open = append(s.open[:i], s.open[i+1:]...)
			return
		}
	}
}

// closeAll closes every session still open; it survives a panicking Close.
func (s *openSessions) closeAll() error {
	s.mu.Lock()
	open := s.open
	s.open = nil
	s.mu.Unlock()
	var errs []string
	for _, o := range open {
		if err := common.Guard("close", o.Close); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("closing lessons: %s", strings.Join(errs, "; "))
	}
	return nil
}

// App is the program's model: the home page, the open lesson page, the
// size check and the progress store.
type App struct {
	common      common.Common // the program's context, size and styles
	lessons     []lessons.Lesson
	locks       map[string]string
	store       ProgressStore
	newSession  SessionFactory
	sessions    *openSessions
	refresh     time.Duration
	forceQuit   key.Binding
	startLesson string
	loadLocks   func(context.Context) map[string]string
	locksReady  bool

	home   home.Model
	lesson lesson.Model
	open   bool
	nextID int // the next lesson screen's id

	progress lessons.Progress
	loaded   bool
	pending  []func(*lessons.Progress) // marks made before the load finished
	saving   bool
	dirty    bool

	// openAfterLoad: the start lesson, opened once the progress (and
	// with it the seed that orders its choices) is loaded.
	openAfterLoad string

	// hungUp: the terminal went away while a full-screen shell ran;
	// RunProgram then returns ErrHangup.
	hungUp bool

	cls classState // in a class: events out, the instructor's notices in (class.go)
}

// appConfig is what NewApp needs.
type appConfig struct {
	ctx         context.Context
	input       *common.Handoff
	shells      context.Context
	window      *common.Window
	styles      *common.Styles
	lessons     []lessons.Lesson
	locks       map[string]string
	store       ProgressStore
	newSession  SessionFactory
	sessions    *openSessions
	refresh     time.Duration
	startLesson string
	loadLocks   func(context.Context) map[string]string
	events      func(Event)
	notices     <-chan Notice
	endDelay    time.Duration // how long the end's reason shows (default endDelay)
}

func newApp(c appConfig) App {
	if c.ctx == nil {
		c.ctx = context.Background()
	}
	if c.refresh <= 0 {
		c.refresh = time.Second
	}
	if c.sessions == nil {
		c.sessions = &openSessions{}
	}
	cm := common.New(c.ctx, c.styles)
	cm.Input, cm.Shells, cm.Window = c.input, c.shells, c.window
	return App{
		common: cm, lessons: c.lessons, locks: c.locks, store: c.store,
		newSession: c.newSession, sessions: c.sessions, refresh: c.refresh,
		forceQuit:   key.NewBinding(key.WithKeys("ctrl+c")),
		startLesson: c.startLesson,
		loadLocks:   c.loadLocks,
		locksReady:  c.loadLocks == nil,
		home:        home.New(common.New(c.ctx, c.styles), c.lessons, c.locks).SetChecking(c.loadLocks != nil),
		progress:    lessons.NewProgress(),
		cls:         classState{report: c.events, notices: c.notices, endDelay: cmp.Or(c.endDelay, endDelay), bannerFor: bannerFor},
	}
}

// Init asks the terminal for its background, loads the progress and opens
// the start lesson, if any.
func (a App) Init() tea.Cmd {
	// bubbletea reads the answer from the program's own input, so it is
	// never taken for keystrokes, and each program asks its own terminal.
	cmds := []tea.Cmd{tea.RequestBackgroundColor}
	if a.store != nil {
		cmds = append(cmds, LoadProgressCmd(a.store))
	} else {
		cmds = append(cmds, func() tea.Msg { return ProgressLoadedMsg{Progress: lessons.NewProgress()} })
	}
	if a.loadLocks != nil {
		cmds = append(cmds, LoadLocksCmd(a.common.Ctx, a.loadLocks))
	}
	if c := a.initClass(); c != nil {
		cmds = append(cmds, c)
	}
	if a.startLesson != "" {
		id := a.startLesson
		cmds = append(cmds, func() tea.Msg { return openLessonMsg{ID: id} })
	}
	return tea.Batch(cmds...)
}

// Update routes messages to the screen they belong to.
func (a App) Update(msg tea.Msg) (tea.Model, tea.Cmd) { return a.update(msg) }

// update is Update with the App as a value: RunProgram's model keeps it
// in place (runningApp), where an App in a tea.Model would be copied to
// the heap at every message (25 kB).
func (a App) update(msg tea.Msg) (App, tea.Cmd) {
	var done bool
	var classCmd tea.Cmd
	if a, classCmd, done = a.classUpdate(msg); done {
		return a, classCmd
	}
	switch msg := msg.(type) {
	case tea.BackgroundColorMsg:
		// The terminal's answer to Init's question: redraw in colours
		// that suit its background.
		if msg.IsDark() != a.common.Styles.Dark {
			a.common.Styles = common.NewStyles(msg.IsDark(), a.common.Styles.NoColor)
			a.home = a.home.SetStyles(a.common.Styles)
			if a.open {
				a.lesson = a.lesson.SetStyles(a.common.Styles)
			}
		}
		return a, nil
	case tea.WindowSizeMsg:
		a.common = a.common.SetSize(msg.Width, msg.Height)
		return a.resize(), nil
	case tea.KeyPressMsg:
		if a.open && a.lesson.ShellFocused() && !a.tooSmall() {
			// The shell takes every key as typed, ctrl+c and bursts
			// included; the pane's focus key gives the keys back.
			break
		}
		if keys := splitRunes(msg); keys != nil {
			return a.replay(keys)
		}
		if key.Matches(msg, a.forceQuit) {
			return a, tea.Quit
		}
		if a.tooSmall() {
			if msg.String() == "q" {
				return a, tea.Quit
			}
			return a, nil
		}
	case openLessonMsg:
		if !a.loaded {
			// The start lesson waits for the progress: its seed orders
			// the lesson's choices.
			a.openAfterLoad = msg.ID
			return a, nil
		}
		return a.openLesson(msg.ID)
	case lesson.ShellDoneMsg:
		if errors.Is(msg.Err, sandbox.ErrTerminalGone) {
			a.hungUp = true
			return a, tea.Quit
		}
	case LocksLoadedMsg:
		a.locks, a.locksReady = msg.Locks, true
		a.home = a.home.SetLocks(msg.Locks).SetChecking(false)
		if a.open {
			a.lesson = a.lesson.SetLock(a.locks[a.lesson.Lesson().ID], false)
		}
		return a, nil
	case lesson.ClosedMsg:
		a.sessions.remove(msg.Session)
		if msg.Err != nil {
			a.home = a.home.SetError("closing the lesson: " + msg.Err.Error())
		}
		return a, nil
	case ProgressLoadedMsg:
		a.loaded = true
		switch {
		case msg.Err != nil:
			a.home = a.home.SetError("progress could not be read (" + msg.Err.Error() + "); it will not be saved")
			a.store = nil
		default:
			a.progress = msg.Progress
			if a.progress.Lessons == nil {
				a.progress = lessons.NewProgress()
			}
			if msg.Warning != "" {
				a.home = a.home.SetWarning(msg.Warning)
			}
		}
		for _, f := range a.pending {
			f(&a.progress)
		}
		// A learner's first run draws the seed that orders every
		// prediction's choices for them, and keeps it.
		save := a.progress.EnsureSeed() || len(a.pending) > 0
		a.pending = nil
		a.home = a.home.SetProgress(a.progress)
		var open tea.Cmd
		if id := a.openAfterLoad; id != "" {
			a.openAfterLoad = ""
			open = func() tea.Msg { return openLessonMsg{ID: id} }
		}
		if save {
			m, cmd := a.save()
			return m, tea.Batch(cmd, open)
		}
		return a, open
	case lesson.ProgressMsg:
		if !a.loaded {
			a.pending = append(a.pending, msg.Apply)
			return a, nil
		}
		msg.Apply(&a.progress)
		a.home = a.home.SetProgress(a.progress)
		return a.save()
	case ProgressSavedMsg:
		a.saving = false
		if msg.Err != nil {
			text := "progress not saved: " + msg.Err.Error()
			if a.open {
				a.lesson = a.lesson.SetStatus(text, true)
			} else {
				a.home = a.home.SetError(text)
			}
		}
		if a.dirty {
			a.dirty = false
			return a.save()
		}
		return a, nil
	}
	var cmd tea.Cmd
	if a.open {
		a.lesson, cmd = a.lesson.Update(msg)
		if a.lesson.Closing() {
			a, closeCmd := a.closeLesson()
			return a, tea.Batch(cmd, closeCmd)
		}
		return a, cmd
	}
	switch msg.(type) {
	case tea.KeyMsg, tea.MouseMsg:
		a.home, cmd = a.home.Update(msg)
		if a.home.Quit() {
			return a, tea.Quit
		}
		if id := a.home.Open(); id != "" {
			a.home = a.home.Opened()
			return a.openLesson(id)
		}
	}
	return a, cmd
}

// splitRunes splits a key press that carries several typed characters
// into one press each, or returns nil. bubbletea v2 decodes a burst of
// runes in one read as one press per rune already; a press with a longer
// text comes from elsewhere (an input filter, a test, an SSH front end),
// and "jjj" must still move three times, not match no key at all.
func splitRunes(msg tea.KeyPressMsg) []tea.KeyPressMsg {
	if msg.Mod != 0 || msg.Code == tea.KeyExtended || utf8.RuneCountInString(msg.Text) < 2 {
		return nil
	}
	var keys []tea.KeyPressMsg
	for _, r := range msg.Text {
		keys = append(keys, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return keys
}

// replay handles keys one after the other, as if typed one by one.
func (a App) replay(keys []tea.KeyPressMsg) (App, tea.Cmd) {
	var cmds []tea.Cmd
	for _, k := range keys {
		var cmd tea.Cmd
		a, cmd = a.update(k)
		cmds = append(cmds, cmd)
	}
	return a, tea.Sequence(cmds...)
}

// runningApp is the model RunProgram runs: the App, updated in place.
type runningApp struct{ app App }

func (r *runningApp) Init() tea.Cmd { return r.app.Init() }

func (r *runningApp) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	r.app, cmd = r.app.update(msg)
	return r, cmd
}

func (r *runningApp) View() tea.View { return r.app.View() }

// Lesson is the open lesson's page, if one is open.
func (a App) Lesson() (lesson.Model, bool) { return a.lesson, a.open }

func (a App) openLesson(id string) (App, tea.Cmd) {
	if a.open {
		return a, nil
	}
	var l lessons.Lesson
	found := false
	for _, x := range a.lessons {
		if x.ID == id {
			l, found = x, true
		}
	}
	if !found {
		a.home = a.home.SetError(fmt.Sprintf("no lesson %q", id))
		return a, nil
	}
	if why := a.mayOpen(id); why != "" {
		a.home = a.home.SetWarning(why)
		return a, nil
	}
	if a.newSession == nil {
		a.home = a.home.SetError("no sandbox engine: lessons cannot be opened")
		return a, nil
	}
	// The learner's own order of the prediction's choices. A lesson
	// opened from home before the progress file was read (a fast enter)
	// draws a seed for this run.
	a.progress.EnsureSeed()
	l = l.Shuffled(a.progress.Seed)
	var s lesson.Session
	if err := common.Guard("open", func() error { s = a.newSession(l); return nil }); err != nil || s == nil {
		a.home = a.home.SetError(fmt.Sprintf("opening %s failed: %v", id, err))
		return a, nil
	}
	// Reopened, the lesson resumes at the part the learner left it at; a
	// finished one starts again from the beginning.
	if lp := a.progress.Get(id); lp.Part != "" && (lp.Status != lessons.StatusDone || lp.Part != lessons.PartRecap) {
		_ = common.Guard("resume", func() error { s.Goto(lp.Part); return nil })
	}
	a.sessions.add(s)
	a.nextID++
	a.lesson = lesson.New(a.common, a.nextID, s, a.refresh).SetLock(a.locks[id], !a.locksReady).SetSize(a.common.Width, a.bodyHeight())
	a.open = true
	a.home = a.home.Select(id)
	return a.opened()
}

// save writes the progress, one save at a time so that an older copy
// never lands after a newer one.
func (a App) save() (App, tea.Cmd) {
	if a.store == nil {
		return a, nil
	}
	if a.saving {
		a.dirty = true
		return a, nil
	}
	a.saving = true
	p := a.progress
	p.Lessons = maps.Clone(a.progress.Lessons)
	return a, SaveProgressCmd(a.store, p)
}

func (a App) tooSmall() bool {
	return a.common.Width < MinWidth || a.common.Height < MinHeight
}

// View draws the current screen full-window, with the mouse wheel on.
func (a App) View() tea.View {
	v := tea.NewView(a.screen())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	return v
}

// screen is the current screen's text, or why the terminal is too small.
func (a App) screen() string {
	if a.common.Width == 0 {
		return ""
	}
	if a.tooSmall() {
		msg := fmt.Sprintf("nslab needs a terminal of at least %d×%d; this one is %d×%d.\nMake the window larger, or run a lesson as plain text with `nslab run ID`.\nq quits.", MinWidth, MinHeight, a.common.Width, a.common.Height)
		return a.common.Styles.Warn.Render(strings.Join(common.WrapLines(msg, a.common.Width), "\n"))
	}
	if a.cls.ended != "" {
		return a.endedScreen()
	}
	// Only the screen shown is drawn: the home page under an open lesson
	// cost a third of a served class's CPU, drawn and thrown away.
	var body string
	if a.open {
		body = a.lesson.View()
	} else {
		body = a.home.View()
	}
	if b := a.bannerLines(); b != nil {
		return strings.Join(b, "\n") + "\n" + body
	}
	return body
}
