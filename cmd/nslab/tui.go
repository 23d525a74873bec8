package main

import (
	"context"
	"errors"
	"syscall"
	"time"

	"github.com/nslab/nslab/lessons/doctor"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui"
)

// The TUI's progress store is the progress file.
var _ ui.ProgressStore = (*progressStore)(nil)

// runTUI is `nslab` with no command: the lesson browser, on a terminal.
func (a *app) runTUI(ctx context.Context, start string) error {
	if start != "" {
		l, err := lessonByID(start)
		if err != nil {
			return err
		}
		start = l.ID
	}
	if !a.interactive() {
		return withCode(exitMachine, errors.New("the lesson browser needs a terminal, and stdin or stdout is not one (or TERM=dumb).\n"+
			"Play a lesson as plain text instead: `nslab run ID --plain` (`nslab list` shows the ids), or `nslab --plain` for the next one"))
	}
	ls, err := allLessons()
	if err != nil {
		return err
	}
	store, _ := a.progressStore() // without a path the TUI shows why and keeps progress in memory
	return a.withEngine(ctx, func(ctx context.Context, eng *sandbox.Engine) error {
		err := ui.RunProgram(ctx, ui.Options{
			Engine:   eng,
			Lessons:  ls,
			Progress: store,
			// The locks come from the same facts and rules as `nslab doctor`.
			// The probe takes about a second (throwaway clones of every
			// kind), so it runs behind the first frame.
			LoadLocks: func(ctx context.Context) map[string]string {
				return doctor.Locks(sandbox.ProbeMachine(ctx), ls)
			},
			StartLesson: start,
			Input:       a.in,
			Output:      a.out,
			NoColor:     a.colorOff(),
			Refresh:     time.Second,
		})
		// The terminal went away without a SIGHUP reaching nslab (EOF or
		// EIO on it): the same ending as SIGHUP, and the same code.
		if errors.Is(err, ui.ErrHangup) {
			return signalError{sig: syscall.SIGHUP}
		}
		return err
	})
}
