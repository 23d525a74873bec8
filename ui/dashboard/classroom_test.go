package dashboard_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/ui"
	"github.com/nslab/nslab/ui/internal/uitest"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// learner is one learner's program, wired as nslab serve wires it, on a
// terminal emulator: the renderer writes only the cells that change, so
// the screen is read from the emulator, not from the output stream.
type learner struct {
	in   *io.PipeWriter
	term *vt.SafeEmulator
	done chan error
}

func seatLearner(t *testing.T, ctx context.Context, cls *class.Class, name string) *learner {
	t.Helper()
	seat, err := cls.Join(name)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	l := &learner{in: pw, term: vt.NewSafeEmulator(100, 30), done: make(chan error, 1)}
	// The terminal's answers (its background colour) go to the program.
	go func() { _, _ = io.Copy(pw, l.term) }()
	go func() {
		defer seat.Leave()
		l.done <- ui.RunProgram(ctx, ui.Options{
			Lessons: uitest.Lessons(), Input: pr, Output: l.term, NoColor: true, Environ: []string{"TERM=xterm"},
			NewSession: func(x lessons.Lesson) lesson.Session { return uitest.NewSession(x) },
			Events:     seat.Report, Notices: seat.Notices(),
		})
	}()
	// The emulator is not closed: its Close races with the Read above
	// (x/vt v0.1.0); the copying goroutine ends with the test binary.
	t.Cleanup(func() { _ = pw.Close() })
	return l
}

func (l *learner) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ansi.Strip(l.term.Render()), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the learner's screen never showed %q:\n%s", s, ansi.Strip(l.term.Render()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClassroom: the instructor's dashboard and two learners' programs
// over one class, wired as nslab serve wires them: the instructor leads
// both to uts's Perform, broadcasts, and ends bob's session; the rows
// follow what the learners do.
func TestClassroom(t *testing.T) {
	cls, err := class.Open(t.TempDir(), class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cls.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ann, bob := seatLearner(t, ctx, cls, "ann"), seatLearner(t, ctx, cls, "bob")
	ann.waitOutput(t, "0/4 done")
	bob.waitOutput(t, "0/4 done")

	tm := start(t, cls, 100, 30)
	key(tm, "f", "down", "right", "right", "enter") // uts, perform
	ann.waitOutput(t, "following the instructor: uts, perform")
	bob.waitOutput(t, "following the instructor: uts, perform")
	untilRows(t, cls, func(rs []class.Row) bool {
		return len(rs) == 2 && rs[0].Lesson == "uts" && rs[0].Part == lessons.PartPerform && rs[1].Part == lessons.PartPerform
	})

	key(tm, "b")
	tm.Type("perform it now")
	key(tm, "enter")
	ann.waitOutput(t, "» instructor: perform it now")
	bob.waitOutput(t, "» instructor: perform it now")

	key(tm, "down", "x", "y") // bob
	bob.waitOutput(t, "Your class session was ended: the instructor ended it")
	if _, err := bob.in.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-bob.done:
		if !errors.Is(err, ui.ErrSessionEnded) {
			t.Errorf("bob's program: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("bob's program did not end")
	}
	untilRows(t, cls, func(rs []class.Row) bool { return !rs[1].Connected && rs[0].Connected })
	final(t, tm)
}

func untilRows(t *testing.T, cls *class.Class, cond func([]class.Row) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(cls.Rows()) {
		if time.Now().After(deadline) {
			t.Fatalf("rows: %+v", cls.Rows())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
