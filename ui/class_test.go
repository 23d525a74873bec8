package ui

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/ui/internal/uitest"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// seated is a class with one learner, ann, whose program the harness runs.
func seated(t *testing.T) (*class.Class, harnessOpt) {
	t.Helper()
	cls, err := class.Open(t.TempDir(), class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cls.Close() })
	seat, err := cls.Join("ann")
	if err != nil {
		t.Fatal(err)
	}
	return cls, func(c *appConfig, _ *harness) {
		c.events, c.notices = seat.Report, seat.Notices()
		c.endDelay = time.Hour // a key ends it in the tests
	}
}

func annRow(t *testing.T, cls *class.Class) class.Row {
	t.Helper()
	rows := cls.Rows()
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	return rows[0]
}

// untilRow waits until ann's row satisfies cond.
func untilRow(t *testing.T, cls *class.Class, what string, cond func(class.Row) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond(annRow(t, cls)) {
		if time.Now().After(deadline) {
			t.Fatalf("ann's row never showed %s: %+v", what, annRow(t, cls))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestEventsReachTheClass: what the learner does in the TUI is what the
// instructor's row shows.
func TestEventsReachTheClass(t *testing.T) {
	cls, opt := seated(t)
	h := newHarness(t, 100, 30, nil, opt)
	h.keys("j", "enter")
	h.waitFor("[CONCEPT]")
	untilRow(t, cls, "uts opened", func(r class.Row) bool { return r.Lesson == "uts" && r.Part == lessons.PartConcept })
	h.keys("n")
	untilRow(t, cls, "predict", func(r class.Row) bool { return r.Part == lessons.PartPredict })
	h.keys("down", "enter", "n", "enter") // choose 2, go to Perform, perform
	h.untilScreen("the verdict", shows("Your prediction (2) was right"))
	untilRow(t, cls, "prediction right", func(r class.Row) bool { return r.Prediction == "right" && r.Part == lessons.PartPerform })
	h.keys("n", "n", "n")
	h.until("challenge", at(lessons.PartChallenge))
	h.keys("h")
	h.waitFor("Hint 1:")
	untilRow(t, cls, "a hint", func(r class.Row) bool { return r.Hints == 1 && !r.Solved })
	h.keys("v", "y")
	h.untilScreen("checked", shows("Solved: hostname lab"))
	untilRow(t, cls, "solution shown, solved", func(r class.Row) bool {
		return r.SolutionShown && r.Solved && r.Part == lessons.PartChallenge
	})
	h.keys("q")
	untilRow(t, cls, "back home", func(r class.Row) bool { return r.Lesson == "" })
	h.final()
	recs := cls.Records()
	if !recs[0].LastActive.After(recs[0].Joined) {
		t.Errorf("no activity reported: joined %v, last active %v", recs[0].Joined, recs[0].LastActive)
	}
	if l := recs[0].Lessons["uts"]; l == nil || !l.Predicted || !l.PredictedRight || l.Hints != 1 || !l.Solved || !l.SolutionShown || l.Part != lessons.PartChallenge {
		t.Errorf("ann's uts: %+v", l)
	}
}

// TestBroadcastShown: the instructor's message on a line above the
// screen, which keeps its size.
func TestBroadcastShown(t *testing.T) {
	cls, opt := seated(t)
	h := newHarness(t, 80, 24, nil, opt)
	h.waitFor("0/4 done")
	cls.Broadcast("look at the projector:\nwe start uts together, and everyone performs it at the same time; then we compare")
	h.waitFor("» instructor: look at the projector: we start uts together")
	h.waitFor("we compare")
	_, screen := h.final()
	checkScreen(t, screen, 80, 24)
	golden.RequireEqual(t, []byte(screen))
}

// followUTS is ann in uts's Concept, led by the instructor to part p.
func followUTS(t *testing.T, p lessons.Part) (*class.Class, *harness) {
	t.Helper()
	cls, opt := seated(t)
	h := newHarness(t, 80, 24, nil, opt)
	h.keys("j", "enter")
	h.until("concept", at(lessons.PartConcept))
	cls.Follow("uts", p)
	h.until("the instructor's part", at(p))
	return cls, h
}

// TestFollow: the class follows the instructor: to their part, no
// further; to another lesson, the open one closed; lessons after theirs
// refused; then free again.
func TestFollow(t *testing.T) {
	cls, h := followUTS(t, lessons.PartPerform)
	h.waitFor("» following the instructor: uts, perform")
	untilRow(t, cls, "perform", func(r class.Row) bool { return r.Part == lessons.PartPerform })
	h.keys("n")
	h.waitFor(lesson.LimitStatus)
	h.until("still perform", at(lessons.PartPerform))
	h.keys("p") // looking back is allowed
	h.until("predict", at(lessons.PartPredict))
	h.keys("n", "n")
	h.waitFor(lesson.LimitStatus)
	h.until("at the limit", at(lessons.PartPerform))

	// The instructor moves on: the learner comes along, but no further.
	cls.Follow("uts", lessons.PartObserve)
	h.until("observe", at(lessons.PartObserve))
	h.keys("n")
	h.waitFor(lesson.LimitStatus)

	// Another lesson: uts is closed, overview opened at the instructor's part.
	cls.Follow("overview", lessons.PartPredict)
	h.until("overview", func(a App) bool {
		l, open := a.Lesson()
		return open && l.Lesson().ID == "overview" && l.Part() == lessons.PartPredict
	})
	h.until("uts closed", func(App) bool { return h.session(0).ClosedCount() == 1 })
	untilRow(t, cls, "overview", func(r class.Row) bool { return r.Lesson == "overview" && r.Part == lessons.PartPredict })

	// Home, then uts (after overview in the curriculum): refused.
	h.keys("q")
	h.until("home", func(a App) bool { _, open := a.Lesson(); return !open })
	h.keys("j", "enter")
	h.waitFor("following the instructor (overview): you may look back")
	h.until("still home", func(a App) bool { _, open := a.Lesson(); return !open })

	// Free again: uts opens, and the learner may go ahead.
	cls.Unfollow()
	h.untilScreen("banner gone", func(_ App, s string) bool { return !strings.Contains(s, "» following") })
	h.keys("enter")
	h.until("uts", func(a App) bool { l, open := a.Lesson(); return open && l.Lesson().ID == "uts" })
	h.until("resumed at observe", at(lessons.PartObserve))
	h.keys("n", "n")
	h.until("challenge", at(lessons.PartChallenge))
	h.final()
}

// TestGoldenFollow: a lesson page under the follow banner, the page one
// line shorter.
func TestGoldenFollow(t *testing.T) {
	_, h := followUTS(t, lessons.PartPredict)
	h.waitFor("» following the instructor")
	_, screen := h.final()
	checkScreen(t, screen, 80, 24)
	golden.RequireEqual(t, []byte(screen))
}

// TestEndSession: the reason is shown and the open lesson is closed at
// once (its sandboxes with it), a key quits, and RunProgram says why.
func TestEndSession(t *testing.T) {
	cls, err := class.Open(t.TempDir(), class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cls.Close()
	seat, err := cls.Join("ann")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	var store uitest.Store
	var opened atomic.Pointer[uitest.Session]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- RunProgram(ctx, Options{
			Lessons: uitest.Lessons(), Progress: &store, StartLesson: "uts", Input: pr, Output: out, NoColor: true,
			NewSession: func(l lessons.Lesson) lesson.Session {
				s := uitest.NewSession(l)
				opened.Store(s)
				return s
			},
			Events: seat.Report, Notices: seat.Notices(),
		})
	}()
	rc := &runCase{in: pw, out: out, done: done}
	rc.waitOutput(t, "[CONCEPT]")
	if err := cls.End("ann", "the workshop is over, thank you"); err != nil {
		t.Fatal(err)
	}
	rc.waitOutput(t, "Your class session was ended: the workshop is over, thank you")
	// Closed while the reason is read (shown for 5 s), before any key.
	for end := time.Now().Add(2 * time.Second); opened.Load().ClosedCount() != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the lesson is still open while the reason is shown")
		}
	}
	rc.type_(t, "x")
	err = rc.result(t)
	if !errors.Is(err, ErrSessionEnded) || !strings.Contains(err.Error(), "the workshop is over") {
		t.Errorf("RunProgram: %v", err)
	}
	if sess := opened.Load(); sess == nil || sess.ClosedCount() != 1 {
		t.Error("the lesson was not closed")
	}
}

// TestGoldenEnded: the end's screen.
func TestGoldenEnded(t *testing.T) {
	cls, opt := seated(t)
	h := newHarness(t, 80, 24, nil, opt)
	h.waitFor("0/4 done")
	if err := cls.End("ann", "you typed rm -rf / in the shared terminal"); err != nil {
		t.Fatal(err)
	}
	h.waitFor("session was ended")
	_, screen := h.final()
	golden.RequireEqual(t, []byte(screen))
}

// TestKeysAreActivity: a key that does nothing else still tells the class
// the learner is there.
func TestKeysAreActivity(t *testing.T) {
	cls, opt := seated(t)
	h := newHarness(t, 80, 24, nil, opt)
	h.waitFor("0/4 done")
	joined := cls.Records()[0].LastActive
	time.Sleep(10 * time.Millisecond)
	h.keys("j")
	deadline := time.Now().Add(5 * time.Second)
	for !cls.Records()[0].LastActive.After(joined) {
		if time.Now().After(deadline) {
			t.Fatal("a key was not reported as activity")
		}
		time.Sleep(2 * time.Millisecond)
	}
	h.final()
}
