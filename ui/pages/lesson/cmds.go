package lesson

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// Timeouts bound every sandbox action the page starts: the sandbox's own
// waits are bounded too, these only keep a stuck lesson from holding a
// Cmd's goroutine forever.
const (
	performTimeout = 60 * time.Second
	observeTimeout = 10 * time.Second
	checkTimeout   = 30 * time.Second
)

// The Cmds: all the IO the page does, each returning one typed Msg.

// LiveCmd is the live refresh: it waits d, then observes. One command and
// one message per refresh, because on a small VM each wake-up costs.
func LiveCmd(ctx context.Context, id, gen int, s Session, d time.Duration) tea.Cmd {
	return func() tea.Msg {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return nil
		}
		m := observe(ctx, id, s)
		m.Live, m.Gen = true, gen
		return m
	}
}

// ObserveCmd observes both sides now and derives the lesson's facts.
func ObserveCmd(ctx context.Context, id int, s Session) tea.Cmd {
	return func() tea.Msg { return observe(ctx, id, s) }
}

func observe(ctx context.Context, id int, s Session) ObservedMsg {
	m := ObservedMsg{Screen: common.Screen{ID: id}}
	m.Err = common.Guard("observe", func() error {
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
	_ = common.Guard("events", func() error { m.Events = s.Events(); return nil })
	return m
}

// PerformCmd performs the lesson's syscalls.
func PerformCmd(ctx context.Context, id int, s Session) tea.Cmd {
	return func() tea.Msg {
		m := PerformedMsg{Screen: common.Screen{ID: id}}
		m.Err = common.Guard("perform", func() error {
			ctx, cancel := context.WithTimeout(ctx, performTimeout)
			defer cancel()
			return s.Perform(ctx)
		})
		_ = common.Guard("events", func() error { m.Events = s.Events(); return nil })
		return m
	}
}

// EventsCmd fetches the trace.
func EventsCmd(id int, s Session) tea.Cmd {
	return func() tea.Msg {
		m := EventsMsg{Screen: common.Screen{ID: id}}
		_ = common.Guard("events", func() error { m.Events = s.Events(); return nil })
		return m
	}
}

// AnswerCmd checks a prediction against an observation.
func AnswerCmd(id int, s Session, choice int, o lessons.Observation) tea.Cmd {
	return func() tea.Msg {
		m := AnsweredMsg{Screen: common.Screen{ID: id}, Choice: choice}
		m.Err = common.Guard("answer", func() error {
			m.Correct, m.Right, m.Why = s.Answer(choice, o)
			return nil
		})
		return m
	}
}

// CheckCmd runs the challenge check.
func CheckCmd(ctx context.Context, id int, s Session) tea.Cmd {
	return func() tea.Msg {
		m := CheckedMsg{Screen: common.Screen{ID: id}}
		m.Err = common.Guard("check", func() error {
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
func SolveCmd(ctx context.Context, id int, s Session) tea.Cmd {
	return func() tea.Msg {
		m := SolvedMsg{Screen: common.Screen{ID: id}}
		m.Err = common.Guard("solve", func() error {
			ctx, cancel := context.WithTimeout(ctx, checkTimeout)
			defer cancel()
			return s.Solve(ctx)
		})
		return m
	}
}

// ShellCmd prepares the shell inside the sandbox, for the pane or for
// the whole terminal.
func ShellCmd(id int, s Session, pane bool) tea.Cmd {
	return func() tea.Msg {
		m := ShellReadyMsg{Screen: common.Screen{ID: id}, Pane: pane}
		m.Err = common.Guard("shell", func() error {
			var err error
			m.Cmd, err = s.ShellCommand()
			return err
		})
		return m
	}
}

// ClosedMsg reports a lesson's sandboxes closed.
type ClosedMsg struct {
	Session Session
	Err     error
}

// CloseCmd closes a lesson's sandboxes.
func CloseCmd(s Session) tea.Cmd {
	return func() tea.Msg {
		return ClosedMsg{Session: s, Err: common.Guard("close", s.Close)}
	}
}
