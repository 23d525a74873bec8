package lessons

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"

	"github.com/nslab/nslab/sandbox"
)

// ErrNotPerformed is wrapped by what needs the lesson's sandbox before
// Perform started it (Observe, Check, Solve, ShellCommand).
var ErrNotPerformed = errors.New("the lesson's syscall has not been performed yet")

// ErrExtraKey says a lesson's Extra returned a key it also kept with Set
// (a defect in the lesson's logic, not the learner's doing).
var ErrExtraKey = errors.New("the lesson's Extra and Set use the same key")

// ErrNoLogic is wrapped when a lesson lacks the logic a step needs (a
// placeholder lesson without Perform, Check or Solve).
var ErrNoLogic = errors.New("lesson has no logic for this step")

// Session is one learner walking one lesson: the part they are at, and the
// Sandboxes holding the lesson's sandboxes. It is the one state machine the TUI
// and the headless runner both drive. Its methods are safe for concurrent
// use (a TUI command may observe while the learner moves on).
type Session struct {
	lesson Lesson
	boxes  *Sandboxes

	// perf serializes Perform, which may take seconds; mu guards the
	// fields below and is never held across a syscall, so that the TUI can
	// move between parts while Perform runs.
	perf      sync.Mutex
	mu        sync.Mutex
	index     int
	performed bool  // Perform was called
	started   bool  // the lesson's sandbox is running (run.Box is set)
	perr      error // Perform's error, returned again on later calls
	closed    bool
}

// NewSession prepares a session at the lesson's first part. Nothing is
// started until Perform. onEvent, if not nil, receives every trace event of
// every sandbox of the lesson as it happens.
func NewSession(eng *sandbox.Engine, l Lesson, onEvent func(sandbox.Event)) *Session {
	return &Session{lesson: l, boxes: NewSandboxes(eng, l, onEvent)}
}

// Lesson is the lesson being walked.
func (s *Session) Lesson() Lesson { return s.lesson }

// Sandboxes are the session's sandboxes, for tests that need them.
func (s *Session) Sandboxes() *Sandboxes { return s.boxes }

// Part is the current part.
func (s *Session) Part() Part {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Parts()[s.index]
}

// Index is the current part's position, 0..6.
func (s *Session) Index() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.index
}

// Next moves to the next part; false at the last.
func (s *Session) Next() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index >= len(Parts())-1 {
		return false
	}
	s.index++
	return true
}

// Prev moves to the previous part; false at the first.
func (s *Session) Prev() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.index == 0 {
		return false
	}
	s.index--
	return true
}

// Goto moves to part p; false if p is no part.
func (s *Session) Goto(p Part) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, q := range Parts() {
		if q == p {
			s.index = i
			return true
		}
	}
	return false
}

// Perform starts the lesson's sandbox and runs the lesson's Perform, once.
// A second call returns the first call's outcome without doing anything.
// If Perform fails, the sandboxes stay open for inspection until Close.
func (s *Session) Perform(ctx context.Context) error {
	s.perf.Lock()
	defer s.perf.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("perform %s: %w", s.lesson.ID, sandbox.ErrClosed)
	}
	if s.performed {
		err := s.perr
		s.mu.Unlock()
		return err
	}
	s.performed = true
	s.mu.Unlock()
	err := s.perform(ctx)
	s.mu.Lock()
	s.perr = err
	s.mu.Unlock()
	return err
}

func (s *Session) perform(ctx context.Context) error {
	if s.lesson.Logic.Perform == nil {
		return fmt.Errorf("perform %s: %w", s.lesson.ID, ErrNoLogic)
	}
	if err := s.boxes.Start(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.started = true
	s.mu.Unlock()
	if err := s.lesson.Logic.Perform(ctx, s.boxes); err != nil {
		return fmt.Errorf("perform %s: %w", s.lesson.ID, err)
	}
	return nil
}

// Performed reports whether Perform has been called (successfully or not).
func (s *Session) Performed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.performed
}

// ready returns an error wrapping ErrNotPerformed until Perform has started
// the lesson's sandbox.
func (s *Session) ready(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("%s: %w", op, sandbox.ErrClosed)
	}
	if !s.started {
		return fmt.Errorf("%s: %w", op, ErrNotPerformed)
	}
	return nil
}

// Observe looks at both sides for the lesson's views. Lesson logic that
// keeps observations in Sandboxes (Set) sees them in Observation.Extra, under
// the same keys.
func (s *Session) Observe(ctx context.Context) (Observation, error) {
	if err := s.ready("observe"); err != nil {
		return Observation{}, err
	}
	o, err := s.boxes.Observe(ctx)
	if err != nil {
		return o, err
	}
	for k, v := range s.boxes.Vars() {
		o.Extra[k] = v
	}
	if f := s.lesson.Logic.Extra; f != nil {
		ex, err := f(ctx, s.boxes)
		if err != nil {
			return o, fmt.Errorf("observe %s: %w", s.lesson.ID, err)
		}
		for k, v := range ex {
			// A key both kept with Set and returned by Extra would lose
			// one value silently: finding 9's "plain."+"pid" overwrote
			// the child's PID with a namespace identity.
			if _, kept := o.Extra[k]; kept {
				return o, fmt.Errorf("observe %s: %w: %q", s.lesson.ID, ErrExtraKey, k)
			}
			o.Extra[k] = v
		}
	}
	if f := s.lesson.Logic.Peers; f != nil {
		if o.Peers, err = f(ctx, s.boxes); err != nil {
			return o, fmt.Errorf("observe %s's mount namespaces: %w", s.lesson.ID, err)
		}
	}
	return o, nil
}

// Facts derives the lesson's statements from an observation (nil without
// Facts logic).
func (s *Session) Facts(o Observation) []Fact {
	if s.lesson.Logic.Facts == nil {
		return nil
	}
	return s.lesson.Logic.Facts(o)
}

// Answer checks the learner's choice (0-based) against the choice the
// observation makes right. right is -1 when the lesson has no Answer.
func (s *Session) Answer(choice int, o Observation) (correct bool, right int, why string) {
	answer := s.lesson.Logic.Answer
	if answer == nil {
		return false, -1, "this lesson has no prediction"
	}
	right, why = answer(o)
	return choice == right, right, why
}

// Check runs the challenge's check against kernel state.
func (s *Session) Check(ctx context.Context) (ok bool, detail string, err error) {
	if err := s.ready("check"); err != nil {
		return false, "", err
	}
	if s.lesson.Logic.Check == nil {
		return false, "", fmt.Errorf("check %s: %w", s.lesson.ID, ErrNoLogic)
	}
	return s.lesson.Logic.Check(ctx, s.boxes)
}

// Solve performs the challenge's reference solution: the lesson's own Solve
// if it has one, else its Solution lines in the lesson sandbox's shell.
func (s *Session) Solve(ctx context.Context) error {
	if err := s.ready("solve"); err != nil {
		return err
	}
	if solve := s.lesson.Logic.Solve; solve != nil {
		return solve(ctx, s.boxes)
	}
	if len(s.lesson.Challenge.Solution) == 0 {
		return fmt.Errorf("solve %s: %w", s.lesson.ID, ErrNoLogic)
	}
	return RunSolution(ctx, s.boxes, s.lesson.Challenge.Solution)
}

// ShellCommand is a shell inside every namespace of the lesson's sandbox.
func (s *Session) ShellCommand() (*exec.Cmd, error) {
	if err := s.ready("shell"); err != nil {
		return nil, err
	}
	return s.boxes.Box.ShellCommand()
}

// Events is the trace of the lesson's sandboxes so far: the main one first,
// then the others in the order they started.
func (s *Session) Events() []sandbox.Event {
	if !s.isStarted() {
		return nil // run.Box is being set by Perform
	}
	return s.boxes.Events()
}

// isStarted reports whether Perform has set the lesson's sandbox.
func (s *Session) isStarted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started
}

// ConfinementNote says how the class server confines the learner (the
// engine's note), "" on an ordinary engine.
func (s *Session) ConfinementNote() string { return s.boxes.Engine.ConfinementNote() }

// HostOps are the privileged operations the engine did on the host for
// the lesson's sandboxes so far (Sandboxes.HostOps); nil before Perform.
func (s *Session) HostOps() []sandbox.HostOp {
	if !s.isStarted() {
		return nil // run.Box is being set by Perform
	}
	return s.boxes.HostOps()
}

// Close closes every sandbox of the lesson. Idempotent.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	return s.boxes.Close()
}
