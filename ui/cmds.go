package ui

import (
	"context"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
)

// The program's own Cmds and their Msgs: progress and the machine checks.
// (A lesson's are in pages/lesson.)

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
		if err := common.Guard("checks", func() error { locks = f(ctx); return nil }); err != nil {
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
		err := common.Guard("load progress", func() error {
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
		return ProgressSavedMsg{Err: common.Guard("save progress", func() error { return s.Save(p) })}
	}
}
