package lesson

import (
	"context"
	"os/exec"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
)

// Session is what the page drives for one open lesson. *lessons.Session
// implements it; tests use a deterministic fake. The page calls the
// methods that may block (Perform, Observe, Check, Solve, ShellCommand,
// Events, Close) only from Cmds, never from Update or View.
type Session interface {
	Lesson() lessons.Lesson
	Part() lessons.Part
	Index() int
	Next() bool
	Prev() bool
	Goto(p lessons.Part) bool
	Perform(ctx context.Context) error
	Performed() bool
	Observe(ctx context.Context) (lessons.Observation, error)
	Facts(o lessons.Observation) []lessons.Fact
	Answer(choice int, o lessons.Observation) (correct bool, right int, why string)
	Check(ctx context.Context) (ok bool, detail string, err error)
	Solve(ctx context.Context) error
	ShellCommand() (*exec.Cmd, error)
	Events() []sandbox.Event
	// ConfinementNote says how a class server confines the learner
	// ("" outside a class); it makes no syscall.
	ConfinementNote() string
	Close() error
}

var _ Session = (*lessons.Session)(nil)
