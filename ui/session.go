package ui

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// LessonSession is what the ui drives for one open lesson. *lessons.Session
// implements it; tests use a deterministic fake. The ui calls the methods
// that may block (Perform, Observe, Check, Solve, ShellCommand, Events,
// Close) only from commands, never from Update or View.
type LessonSession interface {
	Lesson() lessons.Lesson
	Part() lessons.Part
	Index() int
	Next() bool
	Prev() bool
	Perform(ctx context.Context) error
	Performed() bool
	Observe(ctx context.Context) (lessons.Observation, error)
	Facts(o lessons.Observation) []lessons.Fact
	Answer(choice int, o lessons.Observation) (correct bool, right int, why string)
	Check(ctx context.Context) (ok bool, detail string, err error)
	Solve(ctx context.Context) error
	ShellCommand() (*exec.Cmd, error)
	Events() []sandbox.Event
	Close() error
}

var _ LessonSession = (*lessons.Session)(nil)

// SessionFactory opens a session for a lesson.
type SessionFactory func(lessons.Lesson) LessonSession

// ErrPanic wraps a panic recovered from lesson code, so that a bug in one
// lesson shows as an error instead of taking the terminal down with it.
var ErrPanic = errors.New("internal error in the lesson")

// guard runs f and turns a panic into an error wrapping ErrPanic.
func guard(op string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w: %v", op, ErrPanic, r)
		}
	}()
	return f()
}

// Timeouts bound every sandbox action the ui starts: the sandbox's own
// waits are bounded too, these only keep a stuck lesson from holding a
// command goroutine forever.
const (
	performTimeout = 60 * time.Second
	observeTimeout = 10 * time.Second
	checkTimeout   = 30 * time.Second
)

// Messages. Each carries the id of the lesson screen that asked, so a
// result arriving after the learner left is dropped.

// ObservedMsg is one observation of both sides, with the facts it proves
// and the trace so far.
type ObservedMsg struct {
	sid    int
	live   bool // from the live refresh chain number gen
	gen    int
	Obs    lessons.Observation
	Facts  []lessons.Fact
	Events []sandbox.Event
	Err    error
}

// PerformedMsg reports the lesson's syscalls done (or failed).
type PerformedMsg struct {
	sid    int
	Events []sandbox.Event
	Err    error
}

// EventsMsg carries the trace so far.
type EventsMsg struct {
	sid    int
	Events []sandbox.Event
}

// TraceMsg says a trace event happened somewhere; the open lesson fetches
// the trace.
type TraceMsg struct{}

// AnsweredMsg is the verdict on the learner's prediction.
type AnsweredMsg struct {
	sid     int
	Choice  int
	Correct bool
	Right   int
	Why     string
	Err     error
}

// CheckedMsg is the challenge check's result.
type CheckedMsg struct {
	sid    int
	OK     bool
	Detail string
	Err    error
}

// SolvedMsg reports the reference solution applied.
type SolvedMsg struct {
	sid int
	Err error
}

// shellReadyMsg carries the shell command to hand the terminal to.
type shellReadyMsg struct {
	sid int
	cmd *exec.Cmd
	err error
}

// ShellDoneMsg reports the learner left the shell.
type ShellDoneMsg struct {
	sid int
	Err error
}

// SessionClosedMsg reports a lesson's sandboxes closed.
type SessionClosedMsg struct {
	Session LessonSession
	Err     error
}

// Commands.

// LiveCmd is the live refresh: it waits d, then observes. One command and
// one message per refresh, because on a small VM each wake-up costs.
func LiveCmd(ctx context.Context, sid, gen int, s LessonSession, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
		m := observe(ctx, sid, s)
		m.live, m.gen = true, gen
		return m
	}
}

// ObserveCmd observes both sides now and derives the lesson's facts.
func ObserveCmd(ctx context.Context, sid int, s LessonSession) tea.Cmd {
	return func() tea.Msg { return observe(ctx, sid, s) }
}

func observe(ctx context.Context, sid int, s LessonSession) ObservedMsg {
	m := ObservedMsg{sid: sid}
	m.Err = guard("observe", func() error {
		ctx, cancel := context.WithTimeout(ctx, observeTimeout)
		defer cancel()
		o, err := s.Observe(ctx)
		if err != nil {
			return err
		}
		m.Obs = o
		m.Facts = s.Facts(o)
		return nil
	})
	_ = guard("events", func() error { m.Events = s.Events(); return nil })
	return m
}

// PerformCmd performs the lesson's syscalls.
func PerformCmd(ctx context.Context, sid int, s LessonSession) tea.Cmd {
	return func() tea.Msg {
		m := PerformedMsg{sid: sid}
		m.Err = guard("perform", func() error {
			ctx, cancel := context.WithTimeout(ctx, performTimeout)
			defer cancel()
			return s.Perform(ctx)
		})
		_ = guard("events", func() error { m.Events = s.Events(); return nil })
		return m
	}
}

// EventsCmd fetches the trace.
func EventsCmd(sid int, s LessonSession) tea.Cmd {
	return func() tea.Msg {
		m := EventsMsg{sid: sid}
		_ = guard("events", func() error { m.Events = s.Events(); return nil })
		return m
	}
}

// AnswerCmd checks a prediction against an observation.
func AnswerCmd(sid int, s LessonSession, choice int, o lessons.Observation) tea.Cmd {
	return func() tea.Msg {
		m := AnsweredMsg{sid: sid, Choice: choice}
		m.Err = guard("answer", func() error {
			m.Correct, m.Right, m.Why = s.Answer(choice, o)
			return nil
		})
		return m
	}
}

// CheckCmd runs the challenge check.
func CheckCmd(ctx context.Context, sid int, s LessonSession) tea.Cmd {
	return func() tea.Msg {
		m := CheckedMsg{sid: sid}
		m.Err = guard("check", func() error {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			var err error
			m.OK, m.Detail, err = s.Check(ctx)
			return err
		})
		return m
	}
}

// SolveCmd applies the reference solution.
func SolveCmd(ctx context.Context, sid int, s LessonSession) tea.Cmd {
	return func() tea.Msg {
		m := SolvedMsg{sid: sid}
		m.Err = guard("solve", func() error {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			return s.Solve(ctx)
		})
		return m
	}
}

// ShellCmd prepares the shell inside the sandbox.
func ShellCmd(sid int, s LessonSession) tea.Cmd {
	return func() tea.Msg {
		m := shellReadyMsg{sid: sid}
		m.err = guard("shell", func() error {
			var err error
			m.cmd, err = s.ShellCommand()
			return err
		})
		return m
	}
}

// CloseSessionCmd closes a lesson's sandboxes.
func CloseSessionCmd(s LessonSession) tea.Cmd {
	return func() tea.Msg {
		return SessionClosedMsg{Session: s, Err: guard("close", s.Close)}
	}
}
