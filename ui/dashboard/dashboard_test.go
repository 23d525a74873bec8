package dashboard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/lessons/class/classtest"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/dashboard"
	"github.com/nslab/nslab/ui/internal/uitest"
)

// classroom is a class of three: ann solved uts with two hints, bob has
// been on pid's predict for 12 minutes (stuck), carl left.
type classroom struct {
	cls            *class.Class
	ann, bob, carl *class.Seat
}

func newClassroom(t *testing.T) classroom {
	t.Helper()
	clk := classtest.NewClock()
	cls, err := class.Open(t.TempDir(), class.Options{Now: clk.Now, StuckAfter: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cls.Close() })
	c := classroom{cls: cls}
	join := func(name string) *class.Seat {
		s, err := cls.Join(name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	c.ann, c.bob, c.carl = join("ann"), join("bob"), join("carl")
	c.bob.Report(class.Event{Kind: class.LessonOpened, Lesson: "pid", Part: lessons.PartPredict})
	c.bob.Report(class.Event{Kind: class.PredictionAnswered, Lesson: "pid", Right: false})
	clk.Add(8 * time.Minute)
	c.ann.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartChallenge})
	c.ann.Report(class.Event{Kind: class.PredictionAnswered, Lesson: "uts", Right: true})
	c.ann.Report(class.Event{Kind: class.HintShown, Lesson: "uts", Hints: 2})
	c.ann.Report(class.Event{Kind: class.ChallengeSolved, Lesson: "uts"})
	c.carl.Leave()
	clk.Add(4*time.Minute + 5*time.Second)
	return c
}

func start(t *testing.T, cls *class.Class, w, h int) *teatest.TestModel {
	t.Helper()
	m := dashboard.New(context.Background(), common.NewStyles(true, true), cls, uitest.Lessons(), dashboard.Options{Refresh: time.Hour})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	waitOut(t, tm, "ann")
	return tm
}

// waitOut waits until the output shows s.
func waitOut(t *testing.T, tm *teatest.TestModel, s string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(ansi.Strip(string(b)), s) },
		teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(2*time.Millisecond))
}

// final quits and returns the last screen, ANSI stripped.
func final(t *testing.T, tm *teatest.TestModel) (dashboard.Model, string) {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(dashboard.Model)
	return m, ansi.Strip(m.View().Content)
}

func key(tm *teatest.TestModel, ks ...string) {
	for _, k := range ks {
		tm.Send(uitest.Key(k))
	}
}

// next is the seat's next notice, waiting a little.
func next(t *testing.T, s *class.Seat) class.Notice {
	t.Helper()
	select {
	case n := <-s.Notices():
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notice")
	}
	return nil
}

func noNotice(t *testing.T, s *class.Seat) {
	t.Helper()
	select {
	case n := <-s.Notices():
		t.Errorf("unexpected notice %#v", n)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestGoldenTable(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	m, screen := final(t, tm)
	uitest.CheckScreen(t, screen, 80, 24)
	rows := m.Rows()
	if len(rows) != 3 || !rows[1].Stuck || rows[0].Stuck || rows[2].Connected {
		t.Fatalf("rows: %+v", rows)
	}
	for _, want := range []string{
		"3 learners · 2 connected · 1 stuck (10m)", "follow: off",
		"▸ ann        uts         challenge  4m05s   right 2     yes      4m05s",
		"  bob        pid         predict    12m05s  wrong 0     -        12m05s STUCK",
		"  carl       -           -          -       -     -     -        -      left",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("table lacks %q:\n%s", want, screen)
		}
	}
	golden.RequireEqual(t, []byte(screen))
}

func TestBroadcast(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "b")
	tm.Type("look at the projector")
	key(tm, "enter")
	if n := next(t, c.ann); n != (class.Broadcast{Text: "look at the projector"}) {
		t.Errorf("ann got %#v", n)
	}
	if n := next(t, c.bob); n != (class.Broadcast{Text: "look at the projector"}) {
		t.Errorf("bob got %#v", n)
	}
	noNotice(t, c.carl) // left
	// esc sends nothing.
	key(tm, "b")
	tm.Type("oops")
	key(tm, "esc")
	_, screen := final(t, tm)
	noNotice(t, c.ann)
	uitest.CheckScreen(t, screen, 80, 24)
	if !strings.Contains(screen, "nothing sent") {
		t.Errorf("esc:\n%s", screen)
	}
}

func TestGoldenBroadcastInput(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "b")
	tm.Type("we start at 10")
	_, screen := final(t, tm)
	uitest.CheckScreen(t, screen, 80, 24)
	if !strings.Contains(screen, "message to the class: we start at 10") {
		t.Errorf("no input:\n%s", screen)
	}
	golden.RequireEqual(t, []byte(screen))
}

func TestFollowMode(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "f", "down", "right", "right", "enter")
	want := class.Follow{Lesson: "uts", Part: lessons.PartPerform}
	for _, s := range []*class.Seat{c.ann, c.bob} {
		if n := next(t, s); n != want {
			t.Errorf("%s got %#v, want %#v", s.Name(), n, want)
		}
	}
	if f, ok := c.cls.Following(); !ok || f != want {
		t.Errorf("following %v %v", f, ok)
	}
	// The instructor moves on; the class follows.
	key(tm, "right")
	if n := next(t, c.ann); n != (class.Follow{Lesson: "uts", Part: lessons.PartObserve}) {
		t.Errorf("ann got %#v", n)
	}
	next(t, c.bob)
	key(tm, "f")
	if n := next(t, c.ann); n != (class.Unfollow{}) {
		t.Errorf("ann got %#v", n)
	}
	if _, ok := c.cls.Following(); ok {
		t.Error("still following")
	}
	// Cancelled picker: nothing sent.
	key(tm, "f", "esc")
	_, screen := final(t, tm)
	noNotice(t, c.ann)
	if !strings.Contains(screen, "follow mode stays off") || !strings.Contains(screen, "follow: off") {
		t.Errorf("cancelled:\n%s", screen)
	}
}

func TestGoldenFollowPicker(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "f", "down", "right")
	_, screen := final(t, tm)
	uitest.CheckScreen(t, screen, 80, 24)
	golden.RequireEqual(t, []byte(screen))
}

func TestGoldenProjector(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "p", "down", "right")
	m, screen := final(t, tm)
	if !m.Projecting() {
		t.Fatal("not projecting")
	}
	uitest.CheckScreen(t, screen, 80, 24)
	for _, want := range []string{"02 UTS NAMESPACES: A HOSTNAME OF YOUR OWN", "PREDICT  (2/7)", "1) lab: there is one hostname"} {
		if !strings.Contains(screen, want) {
			t.Errorf("projector lacks %q:\n%s", want, screen)
		}
	}
	golden.RequireEqual(t, []byte(screen))
}

// Following from the projector: the class moves with the instructor's
// slides.
func TestProjectorLeads(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "p", "f")
	if n := next(t, c.ann); n != (class.Follow{Lesson: "overview", Part: lessons.PartConcept}) {
		t.Errorf("ann got %#v", n)
	}
	key(tm, "right")
	if n := next(t, c.ann); n != (class.Follow{Lesson: "overview", Part: lessons.PartPredict}) {
		t.Errorf("ann got %#v", n)
	}
	key(tm, "esc")
	_, screen := final(t, tm)
	if !strings.Contains(screen, "follow: overview, predict") {
		t.Errorf("back at the table:\n%s", screen)
	}
}

func TestEndSession(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "down", "x", "y")
	if n := next(t, c.bob); n != (class.EndSession{Why: dashboard.EndReason}) {
		t.Errorf("bob got %#v", n)
	}
	noNotice(t, c.ann)
	final(t, tm)
}

// No session is ended when the instructor answers no, or selects a
// learner who left.
func TestEndSessionNot(t *testing.T) {
	for _, tc := range []struct {
		keys   []string
		status string
	}{
		{[]string{"down", "x", "n"}, "bob's session goes on"},
		{[]string{"down", "down", "x"}, "select a connected learner first"}, // carl left
	} {
		c := newClassroom(t)
		tm := start(t, c.cls, 80, 24)
		key(tm, tc.keys...)
		_, screen := final(t, tm)
		for _, s := range []*class.Seat{c.ann, c.bob, c.carl} {
			noNotice(t, s)
		}
		if !strings.Contains(screen, tc.status) {
			t.Errorf("%v: no %q:\n%s", tc.keys, tc.status, screen)
		}
	}
}

func TestGoldenEndConfirm(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "down", "x")
	_, screen := final(t, tm)
	uitest.CheckScreen(t, screen, 80, 24)
	golden.RequireEqual(t, []byte(screen))
}

// + and - change how long on one part makes a learner stuck.
func TestStuckLimit(t *testing.T) {
	c := newClassroom(t)
	tm := start(t, c.cls, 80, 24)
	key(tm, "+", "+", "+") // 13 minutes: bob (12m05s) is not stuck
	_, screen := final(t, tm)
	if bob := c.cls.Rows()[1]; c.cls.StuckAfter() != 13*time.Minute || bob.Stuck || !strings.Contains(screen, "stuck after 13 minutes") {
		t.Errorf("13 minutes: %v %+v\n%s", c.cls.StuckAfter(), bob, screen)
	}
	tm = start(t, c.cls, 80, 24)
	for range 20 {
		key(tm, "-")
	}
	final(t, tm)
	if c.cls.StuckAfter() != time.Minute {
		t.Errorf("the limit goes no lower than a minute: %v", c.cls.StuckAfter())
	}
}

// The table scrolls to keep the selected learner on a small terminal.
func TestManyLearnersScroll(t *testing.T) {
	cls, err := class.Open(t.TempDir(), class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cls.Close()
	for i := range 40 {
		if _, err := cls.Join("l" + string(rune('a'+i/26)) + string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	m := dashboard.New(context.Background(), common.NewStyles(true, true), cls, uitest.Lessons(), dashboard.Options{Refresh: time.Hour})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(60, 16))
	waitOut(t, tm, "laa")
	for range 39 {
		key(tm, "j")
	}
	_, screen := final(t, tm)
	uitest.CheckScreen(t, screen, 60, 16)
	if !strings.Contains(screen, "▸ lbn") || strings.Contains(screen, "laa") {
		t.Errorf("the last learner is not in view:\n%s", screen)
	}
}

// TestJoinLine: the join line and the code stay on the dashboard (its full
// screen hides what nslab serve printed before it), and do not without
// Options.Join.
func TestJoinLine(t *testing.T) {
	c := newClassroom(t)
	const join = "join: ssh -p 2222 NAME@192.0.2.10   class code: abcd-efgh-jkmn"
	for _, j := range []string{join, ""} {
		m := dashboard.New(context.Background(), common.NewStyles(true, true), c.cls, uitest.Lessons(), dashboard.Options{Refresh: time.Hour, Join: j})
		mm, _ := m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
		if got := strings.Contains(mm.View().Content, join); got != (j != "") {
			t.Errorf("Join %q: the join line shown = %v:\n%s", j, got, mm.View().Content)
		}
	}
}
