package lessons

import (
	"context"
	"errors"
	"testing"

	"github.com/nslab/nslab/sandbox"
)

func TestSessionMoves(t *testing.T) {
	s := NewSession(nil, Lesson{Meta: Meta{ID: "x"}}, nil)
	if s.Index() != 0 || s.Part() != PartConcept {
		t.Fatalf("starts at %d %s", s.Index(), s.Part())
	}
	if s.Prev() {
		t.Error("Prev at the first part moved")
	}
	for i := 1; i < len(Parts()); i++ {
		if !s.Next() || s.Index() != i || s.Part() != Parts()[i] {
			t.Fatalf("Next to %d: at %d %s", i, s.Index(), s.Part())
		}
	}
	if s.Next() {
		t.Error("Next at the last part moved")
	}
	if !s.Goto(PartObserve) || s.Part() != PartObserve || s.Index() != 3 {
		t.Errorf("Goto observe: at %d %s", s.Index(), s.Part())
	}
	if s.Goto(Part("nope")) || s.Part() != PartObserve {
		t.Error("Goto an unknown part moved")
	}
	if !s.Prev() || s.Part() != PartPerform {
		t.Errorf("Prev: at %s", s.Part())
	}
}

func TestSessionBeforePerform(t *testing.T) {
	s := NewSession(nil, Lesson{Meta: Meta{ID: "x"}}, nil)
	ctx := t.Context()
	if s.Performed() {
		t.Error("performed before Perform")
	}
	if _, err := s.Observe(ctx); !errors.Is(err, ErrNotPerformed) {
		t.Errorf("Observe: %v", err)
	}
	if _, _, err := s.Check(ctx); !errors.Is(err, ErrNotPerformed) {
		t.Errorf("Check: %v", err)
	}
	if err := s.Solve(ctx); !errors.Is(err, ErrNotPerformed) {
		t.Errorf("Solve: %v", err)
	}
	if _, err := s.ShellCommand(); !errors.Is(err, ErrNotPerformed) {
		t.Errorf("ShellCommand: %v", err)
	}
	if len(s.Events()) != 0 {
		t.Error("events before Perform")
	}
	if _, right, _ := s.Answer(0, Observation{}); right != -1 {
		t.Errorf("a lesson without a prediction answered %d", right)
	}
	if s.Facts(Observation{}) != nil {
		t.Error("facts without Facts logic")
	}
	// A lesson without logic: Perform fails, and keeps failing the same way.
	if err := s.Perform(ctx); !errors.Is(err, ErrNoLogic) {
		t.Errorf("Perform without logic: %v", err)
	}
	if err := s.Perform(ctx); !errors.Is(err, ErrNoLogic) {
		t.Errorf("second Perform: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSessionLifecycle runs a small real lesson: Perform once (a second
// call does nothing), events, Observe with Extra, Close, and nothing works
// after Close.
func TestSessionLifecycle(t *testing.T) {
	needRoot(t)
	defer hostUnchanged(t)()
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	performs, collide := 0, false
	l := Lesson{Meta: Meta{ID: "tiny"}, Logic: Logic{
		Spec: sandbox.Spec{Flags: sandbox.CloneNewUTS},
		Perform: func(ctx context.Context, r *Sandboxes) error {
			performs++
			r.Set("kept", "yes")
			return r.Box.SetHostname(ctx, "tiny")
		},
		Extra: func(ctx context.Context, r *Sandboxes) (map[string]string, error) {
			ex := map[string]string{"live": r.Box.Label()}
			if collide {
				ex["kept"] = "overwritten"
			}
			return ex, nil
		},
		Views: []sandbox.View{sandbox.ViewUTS},
	}}
	var seen []sandbox.Event
	s := NewSession(eng, l, func(e sandbox.Event) { seen = append(seen, e) })
	ctx := t.Context()
	if err := s.Perform(ctx); err != nil {
		t.Fatal(err)
	}
	pid := s.Sandboxes().Box.PID()
	if err := s.Perform(ctx); err != nil || performs != 1 || s.Sandboxes().Box.PID() != pid {
		t.Fatalf("second Perform: err %v, performs %d", err, performs)
	}
	if !s.Performed() {
		t.Error("not Performed after Perform")
	}
	evs := s.Events()
	if len(evs) < 2 || len(seen) != len(evs) {
		t.Errorf("events: %d from Events, %d delivered", len(evs), len(seen))
	}
	o, err := s.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o.Sandbox.Hostname != "tiny" || o.Extra["kept"] != "yes" || o.Extra["live"] != "tiny" {
		t.Errorf("observation: hostname %q, extra %v", o.Sandbox.Hostname, o.Extra)
	}
	if !o.Sandbox.Has(sandbox.ViewIDs) {
		t.Error("identities are not always observed")
	}
	collide = true
	if o, err := s.Observe(ctx); !errors.Is(err, ErrExtraKey) {
		t.Errorf("Extra overwrote a value kept with Set: err %v, extra %v", err, o.Extra)
	}
	collide = false
	cmd, err := s.ShellCommand()
	if err != nil || cmd == nil {
		t.Errorf("ShellCommand: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Observe(ctx); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Observe after Close: %v", err)
	}
	if err := s.Perform(ctx); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Perform after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSessionSolve: without a Solve of its own, a lesson's Solve runs its
// Solution lines in the sandbox's shell (comments skipped, stopping at the
// first failure); a lesson's own Solve replaces them.
func TestSessionSolve(t *testing.T) {
	needRoot(t)
	defer hostUnchanged(t)()
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	hostnameIs := func(want string) func(context.Context, *Sandboxes) (bool, string, error) {
		return func(ctx context.Context, r *Sandboxes) (bool, string, error) {
			snap, err := ObserveBox(ctx, r, sandbox.ViewUTS)
			return snap.Hostname == want, snap.Hostname, err
		}
	}
	tiny := func(solution []string, solve func(context.Context, *Sandboxes) error) Lesson {
		return Lesson{Meta: Meta{ID: "tiny"}, Challenge: Challenge{Solution: solution}, Logic: Logic{
			Spec:    sandbox.Spec{Flags: sandbox.CloneNewUTS},
			Perform: func(context.Context, *Sandboxes) error { return nil },
			Check:   hostnameIs("solved"),
			Solve:   solve,
		}}
	}
	play := func(l Lesson) (ok bool, got string, solveErr error) {
		t.Helper()
		s := NewSession(eng, l, nil)
		defer s.Close()
		if err := s.Perform(t.Context()); err != nil {
			t.Fatal(err)
		}
		if ok, got, err := s.Check(t.Context()); err != nil || ok {
			t.Fatalf("check before solving: %v %q %v", ok, got, err)
		}
		solveErr = s.Solve(t.Context())
		ok, got, err := s.Check(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return ok, got, solveErr
	}

	if ok, got, err := play(tiny([]string{"# a comment is not run", "hostname solved"}, nil)); err != nil || !ok {
		t.Errorf("the Solution lines were not run: %v, hostname %q", err, got)
	}
	if ok, got, err := play(tiny([]string{"false", "hostname solved"}, nil)); !errors.Is(err, ErrShell) || ok {
		t.Errorf("a failing line did not stop Solve: %v, hostname %q", err, got)
	}
	own := func(ctx context.Context, r *Sandboxes) error { return r.Box.SetHostname(ctx, "solved") }
	if ok, got, err := play(tiny([]string{"hostname wrong"}, own)); err != nil || !ok {
		t.Errorf("the lesson's own Solve did not replace the lines: %v, hostname %q", err, got)
	}
	if ok, _, err := play(tiny(nil, nil)); !errors.Is(err, ErrNoLogic) || ok {
		t.Errorf("Solve without lines or logic: %v", err)
	}
}

func TestPartTitleAndDeltaSymbol(t *testing.T) {
	if PartConcept.Title() != "Concept" || Part("").Title() != "" {
		t.Errorf("titles %q %q", PartConcept.Title(), Part("").Title())
	}
	want := map[sandbox.DeltaKind]string{sandbox.Same: "=", sandbox.Changed: "≠", sandbox.OnlySandbox: "+", sandbox.OnlyHost: "-"}
	for k, s := range want {
		if got := DeltaSymbol(k); got != s {
			t.Errorf("%v: %q, want %q", k, got, s)
		}
	}
}
