package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// A learner's program in a class served by `nslab serve`: it reports what
// the learner does (Options.Events) and takes the instructor's notices
// (Options.Notices): a broadcast message on a line of its own above the
// screen, follow mode (the instructor's lesson and part; the learner may
// look back, not ahead), and the end of the session.

// Event is what the learner's program reports (lessons/class defines it:
// lessons do not import the ui).
type Event = class.Event

// Notice is what the class sends into the learner's program:
// class.Broadcast, class.Follow, class.Unfollow or class.EndSession.
type Notice = class.Notice

// ErrSessionEnded is returned by RunProgram when the instructor ended the
// session; the error's text says why.
var ErrSessionEnded = errors.New("your class session was ended")

// How long a broadcast message stays, and the reason for the end before
// the program quits (a key quits at once).
const (
	bannerFor = time.Minute
	endDelay  = 5 * time.Second
)

// activityEvery: a key reports activity at most this often.
const activityEvery = time.Second

// classState is the App's part in a class.
type classState struct {
	report  func(Event)
	notices <-chan Notice

	follow    *class.Follow // nil: not following
	banner    string        // the instructor's last message, while shown
	bannerGen int
	ended     string // why the session ended ("" it did not)
	lastKey   time.Time
	endDelay  time.Duration
	bannerFor time.Duration
}

// noticeMsg carries a notice into the program.
type noticeMsg struct{ n Notice }

// bannerDoneMsg takes down message number gen.
type bannerDoneMsg struct{ gen int }

// endNowMsg quits after the end's reason was shown.
type endNowMsg struct{}

// waitNotice waits for the next notice.
func waitNotice(ctx context.Context, ch <-chan Notice) tea.Cmd {
	return func() tea.Msg {
		select {
		case n := <-ch:
			return noticeMsg{n}
		case <-ctx.Done():
			return nil
		}
	}
}

// initClass is Init's part for the class.
func (a App) initClass() tea.Cmd {
	if a.cls.notices == nil {
		return nil
	}
	return waitNotice(a.common.Ctx, a.cls.notices)
}

func (a App) emit(e Event) {
	if a.cls.report != nil {
		a.cls.report(e)
	}
}

// classUpdate handles the class's messages; ok is false for a message it
// leaves to the rest of Update.
func (a App) classUpdate(msg tea.Msg) (_ App, _ tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if a.cls.ended != "" {
			return a, tea.Quit, true
		}
		// time.Now in Update: activity is the learner's own clock, and
		// reporting it must not wait for a Cmd.
		if a.cls.report != nil {
			if now := time.Now(); now.Sub(a.cls.lastKey) >= activityEvery {
				a.cls.lastKey = now
				a.emit(Event{Kind: class.Activity, Time: now})
			}
		}
		return a, nil, false
	case noticeMsg:
		a, cmd := a.notice(msg.n)
		return a, tea.Batch(cmd, waitNotice(a.common.Ctx, a.cls.notices)), true
	case bannerDoneMsg:
		if msg.gen == a.cls.bannerGen {
			a.cls.banner = ""
			a = a.resize()
		}
		return a, nil, true
	case endNowMsg:
		return a, tea.Quit, true
	}
	return a, nil, false
}

// notice acts on one of the instructor's notices.
func (a App) notice(n Notice) (App, tea.Cmd) {
	switch n := n.(type) {
	case class.Broadcast:
		a.cls.banner = n.Text
		a.cls.bannerGen++
		gen := a.cls.bannerGen
		return a.resize(), tea.Tick(a.cls.bannerFor, func(time.Time) tea.Msg { return bannerDoneMsg{gen} })
	case class.Unfollow:
		a.cls.follow = nil
		if a.open {
			a.lesson = a.lesson.SetLimit("")
		}
		return a.resize(), nil
	case class.Follow:
		return a.followTo(n)
	case class.EndSession:
		a.cls.ended = n.Why
		if a.cls.ended == "" {
			a.cls.ended = "the class is over"
		}
		cmds := []tea.Cmd{tea.Tick(a.cls.endDelay, func(time.Time) tea.Msg { return endNowMsg{} })}
		if a.open {
			// The sandboxes close now, while the reason is read.
			var c, c2 tea.Cmd
			a.lesson, c = a.lesson.Leave()
			a, c2 = a.closeLesson()
			cmds = append(cmds, c, c2)
		}
		return a, tea.Batch(cmds...)
	}
	return a, nil
}

// followTo takes the learner to the instructor's lesson and part.
func (a App) followTo(f class.Follow) (App, tea.Cmd) {
	if !slices.ContainsFunc(a.lessons, func(l lessons.Lesson) bool { return l.ID == f.Lesson }) {
		return a, nil // a lesson this program does not have
	}
	a.cls.follow = &f
	a = a.resize()
	var cmds []tea.Cmd
	if a.open && a.lesson.Lesson().ID != f.Lesson {
		var c, c2 tea.Cmd
		a.lesson, c = a.lesson.Leave()
		a, c2 = a.closeLesson()
		cmds = append(cmds, c, c2)
	}
	if !a.open {
		var c tea.Cmd
		a, c = a.openLesson(f.Lesson)
		cmds = append(cmds, c)
		if !a.open {
			return a, tea.Batch(cmds...)
		}
	}
	var c tea.Cmd
	a.lesson, c = a.lesson.SetLimit(f.Part).Goto(f.Part)
	return a, tea.Batch(append(cmds, c)...)
}

// closeLesson closes the open lesson and goes home.
func (a App) closeLesson() (App, tea.Cmd) {
	s := a.lesson.Session()
	a.open = false
	id := a.lesson.Lesson().ID
	a.home = a.home.Select(id)
	if a.progress.Get(id).Status == lessons.StatusDone && a.lesson.Part() == lessons.PartRecap {
		// Finished: the next lesson is what comes next.
		a.home = a.home.SelectAfter(id)
	}
	a.emit(Event{Kind: class.LessonClosed, Lesson: id})
	return a, lesson.CloseCmd(s)
}

// mayOpen says why the learner may not open lesson id ("" they may):
// following the instructor, lessons after theirs are ahead.
func (a App) mayOpen(id string) string {
	f := a.cls.follow
	if f == nil {
		return ""
	}
	idx := func(id string) int {
		return slices.IndexFunc(a.lessons, func(l lessons.Lesson) bool { return l.ID == id })
	}
	if idx(id) > idx(f.Lesson) {
		return fmt.Sprintf("following the instructor (%s): you may look back, not ahead", f.Lesson)
	}
	return ""
}

// opened is the end of opening a lesson: it reports it and, following the
// instructor in it, keeps the learner at or before their part.
func (a App) opened() (App, tea.Cmd) {
	a.lesson = a.lesson.SetReport(a.cls.report)
	cmd := a.lesson.Init()
	if f := a.cls.follow; f != nil && f.Lesson == a.lesson.Lesson().ID {
		a.lesson = a.lesson.SetLimit(f.Part)
		ps := lessons.Parts()
		if slices.Index(ps, a.lesson.Part()) > slices.Index(ps, f.Part) {
			var c tea.Cmd
			a.lesson, c = a.lesson.Goto(f.Part)
			cmd = tea.Batch(cmd, c)
		}
	}
	a.emit(Event{Kind: class.LessonOpened, Lesson: a.lesson.Lesson().ID, Part: a.lesson.Part()})
	return a, cmd
}

// maxBannerLines bounds the instructor's message on the learner's screen.
const maxBannerLines = 3

// bannerLines are the lines above the screen: the instructor's message,
// or that the class follows the instructor (none: neither).
func (a App) bannerLines() []string {
	var s string
	switch {
	case a.cls.banner != "":
		s = "» instructor: " + strings.Join(strings.Fields(a.cls.banner), " ")
	case a.cls.follow != nil:
		s = fmt.Sprintf("» following the instructor: %s, %s (you may look back, not ahead)", a.cls.follow.Lesson, a.cls.follow.Part)
	default:
		return nil
	}
	if a.common.Width <= 0 {
		return nil
	}
	lines := common.WrapPlain(s, a.common.Width)
	if len(lines) > maxBannerLines {
		lines = lines[:maxBannerLines]
		lines[maxBannerLines-1] = common.Truncate(lines[maxBannerLines-1]+" …", a.common.Width)
	}
	for i, l := range lines {
		lines[i] = a.common.Styles.Warn.Render(common.Pad(l, a.common.Width))
	}
	return lines
}

// bodyHeight is the pages' height: the screen less the banner's lines.
func (a App) bodyHeight() int {
	return max(0, a.common.Height-len(a.bannerLines()))
}

// resize gives the pages the room the banner leaves.
func (a App) resize() App {
	if a.common.Width == 0 {
		return a
	}
	a.home = a.home.SetSize(a.common.Width, a.bodyHeight())
	if a.open {
		a.lesson = a.lesson.SetSize(a.common.Width, a.bodyHeight())
	}
	return a
}

// endedScreen is the end's reason, shown until the program quits.
func (a App) endedScreen() string {
	msg := "Your class session was ended: " + a.cls.ended + ".\nnslab has closed your sandboxes. Your progress is kept: join again to continue.\nAny key quits."
	return a.common.Styles.Warn.Render(strings.Join(common.WrapLines(msg, a.common.Width), "\n"))
}
