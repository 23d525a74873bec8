package lesson

import (
	"os/exec"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
)

// The Cmds' results. Each embeds the id of the screen that asked
// (common.Screen), so a result arriving after the learner left is
// dropped by one check instead of a type switch.

// ObservedMsg is one observation of both sides, with the facts it proves
// and the trace so far.
type ObservedMsg struct {
	common.Screen
	Live   bool // from the live refresh chain number Gen
	Gen    int
	Obs    lessons.Observation
	Facts  []lessons.Fact
	Events []sandbox.Event
	Err    error
}

// PerformedMsg reports the lesson's syscalls done (or failed).
type PerformedMsg struct {
	common.Screen
	Events []sandbox.Event
	Err    error
}

// EventsMsg carries the trace so far.
type EventsMsg struct {
	common.Screen
	Events []sandbox.Event
}

// AnsweredMsg is the verdict on the learner's prediction.
type AnsweredMsg struct {
	common.Screen
	Choice  int
	Correct bool
	Right   int
	Why     string
	Err     error
}

// CheckedMsg is the challenge check's result.
type CheckedMsg struct {
	common.Screen
	OK     bool
	Detail string
	Err    error
}

// SolvedMsg reports the reference solution applied.
type SolvedMsg struct {
	common.Screen
	Err error
}

// ShellReadyMsg carries the shell command to hand the terminal to.
type ShellReadyMsg struct {
	common.Screen
	Pane bool // for the pane, not the whole terminal
	Cmd  *exec.Cmd
	Err  error
}

// ShellDoneMsg reports the learner left the shell.
type ShellDoneMsg struct {
	common.Screen
	Err error
}

// TraceMsg says a trace event happened somewhere; the open lesson fetches
// the trace. It belongs to no screen.
type TraceMsg struct{}

// ProgressMsg asks the program to record progress and save it.
type ProgressMsg struct{ Apply func(*lessons.Progress) }
