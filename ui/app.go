package ui

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// Below this size the screens cannot be drawn sensibly; a message says so.
const (
	MinWidth  = 60
	MinHeight = 16
)

// ProgressLoadedMsg carries the progress read at start.
type ProgressLoadedMsg struct {
	Progress lessons.Progress
	Warning  string
	Err      error
}

// LocksLoadedMsg carries the locks computed in the background.
type LocksLoadedMsg struct{ Locks map[string]string }

// LoadLocksCmd runs the machine checks that decide the locks.
func LoadLocksCmd(ctx context.Context, f func(context.Context) map[string]string) tea.Cmd {
	return func() tea.Msg {
		var locks map[string]string
		if err := guard("checks", func() error { locks = f(ctx); return nil }); err != nil {
			// Without the checks every lesson stays runnable; Perform
			// reports the kernel's own refusal.
			locks = map[string]string{}
		}
		return LocksLoadedMsg{Locks: locks}
	}
}

// ProgressSavedMsg reports a save.
type ProgressSavedMsg struct{ Err error }

// LoadProgressCmd reads the progress store.
func LoadProgressCmd(s ProgressStore) tea.Cmd {
	return func() tea.Msg {
		var m ProgressLoadedMsg
		err := guard("load progress", func() error {
			var err error
			m.Progress, m.Warning, err = s.Load()
			return err
		})
		m.Err = err
		return m
	}
}

// SaveProgressCmd writes p (a copy the caller no longer touches).
func SaveProgressCmd(s ProgressStore, p lessons.Progress) tea.Cmd {
	return func() tea.Msg {
		return ProgressSavedMsg{Err: guard("save progress", func() error { return s.Save(p) })}
	}
}

// sessionSet remembers every session the ui opened, so that every way out
// of Run closes them all.
type sessionSet struct {
	mu   sync.Mutex
	open []LessonSession
}

func (s *sessionSet) add(x LessonSession) {
	s.mu.Lock()
	s.open = append(s.open, x)
	s.mu.Unlock()
}

func (s *sessionSet) remove(x LessonSession) {
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
func (s *sessionSet) closeAll() error {
	s.mu.Lock()
	open := s.open
	s.open = nil
	s.mu.Unlock()
	var errs []string
	for _, o := range open {
		if err := guard("close", o.Close); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("closing lessons: %s", strings.Join(errs, "; "))
	}
	return nil
}

// App is the root model: the home screen, the open lesson, the size check
// and the progress store.
type App struct {
	st          *common.Styles
	ctx         context.Context
	lessons     []lessons.Lesson
	locks       map[string]string
	store       ProgressStore
	newSession  SessionFactory
	sessions    *sessionSet
	refresh     time.Duration
	forceQuit   key.Binding
	startLesson string
	loadLocks   func(context.Context) map[string]string
	locksReady  bool

	width, height int
	home          HomeModel
	lesson        LessonModel
	open          bool
	nextSID       int

	progress lessons.Progress
	loaded   bool
	pending  []func(*lessons.Progress) // marks made before the load finished
	saving   bool
	dirty    bool
}

// appConfig is what NewApp needs.
type appConfig struct {
	ctx         context.Context
	styles      *common.Styles
	lessons     []lessons.Lesson
	locks       map[string]string
	store       ProgressStore
	newSession  SessionFactory
	sessions    *sessionSet
	refresh     time.Duration
	startLesson string
	loadLocks   func(context.Context) map[string]string
}

func newApp(c appConfig) App {
	if c.ctx == nil {
		c.ctx = context.Background()
	}
	if c.refresh <= 0 {
		c.refresh = time.Second
	}
	if c.sessions == nil {
		c.sessions = &sessionSet{}
	}
	return App{
		st: c.styles, ctx: c.ctx, lessons: c.lessons, locks: c.locks, store: c.store,
		newSession: c.newSession, sessions: c.sessions, refresh: c.refresh,
		forceQuit:   key.NewBinding(key.WithKeys("ctrl+c")),
		startLesson: c.startLesson,
		loadLocks:   c.loadLocks,
		locksReady:  c.loadLocks == nil,
		home:        NewHome(c.styles, c.lessons, c.locks).SetChecking(c.loadLocks != nil),
		progress:    lessons.NewProgress(),
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
		cmds = append(cmds, LoadLocksCmd(a.ctx, a.loadLocks))
	}
	if a.startLesson != "" {
		id := a.startLesson
		cmds = append(cmds, func() tea.Msg { return openLessonMsg{ID: id} })
	}
	return tea.Batch(cmds...)
}

// Update routes messages to the screen they belong to.
func (a App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.BackgroundColorMsg:
		// The terminal's answer to Init's question: redraw in colours
		// that suit its background.
		if msg.IsDark() != a.st.Dark {
			a.st = common.NewStyles(msg.IsDark(), a.st.NoColor)
			a.home = a.home.SetStyles(a.st)
			if a.open {
				a.lesson = a.lesson.SetStyles(a.st)
			}
		}
		return a, nil
	case tea.WindowSizeMsg:
		a.width, a.height = msg.Width, msg.Height
		a.home = a.home.SetSize(msg.Width, msg.Height)
		if a.open {
			a.lesson = a.lesson.SetSize(msg.Width, msg.Height)
		}
		return a, nil
	case tea.KeyPressMsg:
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
		return a.openLesson(msg.ID)
	case LocksLoadedMsg:
		a.locks, a.locksReady = msg.Locks, true
		a.home = a.home.SetLocks(msg.Locks).SetChecking(false)
		if a.open {
			a.lesson = a.lesson.SetLock(a.locks[a.lesson.lesson.ID], false)
		}
		return a, nil
	case SessionClosedMsg:
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
		save := len(a.pending) > 0
		a.pending = nil
		a.home = a.home.SetProgress(a.progress)
		if save {
			return a.save()
		}
		return a, nil
	case progressMsg:
		if !a.loaded {
			a.pending = append(a.pending, msg.apply)
			return a, nil
		}
		msg.apply(&a.progress)
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
		if a.lesson.closing {
			s := a.lesson.Session()
			a.open = false
			a.home = a.home.Select(a.lesson.lesson.ID)
			return a, tea.Batch(cmd, CloseSessionCmd(s))
		}
		return a, cmd
	}
	switch msg.(type) {
	case tea.KeyMsg, tea.MouseMsg:
		a.home, cmd = a.home.Update(msg)
		if a.home.quit {
			return a, tea.Quit
		}
		if id := a.home.open; id != "" {
			a.home.open = ""
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
func (a App) replay(keys []tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	var m tea.Model = a
	for _, k := range keys {
		var cmd tea.Cmd
		m, cmd = m.Update(k)
		cmds = append(cmds, cmd)
	}
	return m, tea.Sequence(cmds...)
}

func (a App) openLesson(id string) (tea.Model, tea.Cmd) {
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
	if a.newSession == nil {
		a.home = a.home.SetError("no sandbox engine: lessons cannot be opened")
		return a, nil
	}
	var s LessonSession
	if err := guard("open", func() error { s = a.newSession(l); return nil }); err != nil || s == nil {
		a.home = a.home.SetError(fmt.Sprintf("opening %s failed: %v", id, err))
		return a, nil
	}
	a.sessions.add(s)
	a.nextSID++
	a.lesson = NewLesson(a.ctx, a.st, a.nextSID, s, a.locks[id], a.refresh).SetLock(a.locks[id], !a.locksReady).SetSize(a.width, a.height)
	a.open = true
	a.home = a.home.Select(id)
	return a, a.lesson.Init()
}

// save writes the progress, one save at a time so that an older copy
// never lands after a newer one.
func (a App) save() (tea.Model, tea.Cmd) {
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
	return a.width < MinWidth || a.height < MinHeight
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
	if a.width == 0 {
		return ""
	}
	if a.tooSmall() {
		msg := fmt.Sprintf("nslab needs a terminal of at least %d×%d; this one is %d×%d.\nMake the window larger, or run a lesson as plain text with `nslab run ID`.\nq quits.", MinWidth, MinHeight, a.width, a.height)
		return a.st.Warn.Render(strings.Join(common.WrapLines(msg, a.width), "\n"))
	}
	if a.open {
		return a.lesson.View()
	}
	return a.home.View()
}
