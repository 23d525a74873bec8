package class_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/lessons/class/classtest"
)

var newClock = classtest.NewClock

func open(t *testing.T, dir string, clk *classtest.Clock) *class.Class {
	t.Helper()
	c, err := class.Open(dir, class.Options{Now: clk.Now, StuckAfter: 5 * time.Minute, SaveEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func join(t *testing.T, c *class.Class, name string) *class.Seat {
	t.Helper()
	s, err := c.Join(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rowOf(t *testing.T, c *class.Class, name string) class.Row {
	t.Helper()
	for _, r := range c.Rows() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no row for %s in %+v", name, c.Rows())
	return class.Row{}
}

func TestRowsFollowTheEvents(t *testing.T) {
	clk := newClock()
	c := open(t, t.TempDir(), clk)
	ann, bob := join(t, c, "ann"), join(t, c, "bob")
	ann.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartConcept})
	clk.Add(time.Minute)
	ann.Report(class.Event{Kind: class.PartEntered, Lesson: "uts", Part: lessons.PartPredict})
	clk.Add(30 * time.Second)
	ann.Report(class.Event{Kind: class.PredictionAnswered, Lesson: "uts", Right: false})
	ann.Report(class.Event{Kind: class.HintShown, Lesson: "uts", Hints: 2})
	bob.Report(class.Event{Kind: class.LessonOpened, Lesson: "pid", Part: lessons.PartChallenge})
	bob.Report(class.Event{Kind: class.PredictionAnswered, Lesson: "pid", Right: true})
	bob.Report(class.Event{Kind: class.ChallengeSolved, Lesson: "pid"})
	clk.Add(20 * time.Second)
	ann.Report(class.Event{Kind: class.Activity})

	a := rowOf(t, c, "ann")
	want := class.Row{Name: "ann", Connected: true, Lesson: "uts", Part: lessons.PartPredict,
		OnPart: 50 * time.Second, Idle: 0, Prediction: "wrong", Hints: 2}
	if a != want {
		t.Errorf("ann: got %+v, want %+v", a, want)
	}
	b := rowOf(t, c, "bob")
	if b.Prediction != "right" || !b.Solved || b.Idle != 20*time.Second || b.Part != lessons.PartChallenge {
		t.Errorf("bob: %+v", b)
	}

	// Stuck: ann has been on predict for longer than the limit; bob,
	// solved, is not stuck however long he stays.
	clk.Add(5 * time.Minute)
	if a := rowOf(t, c, "ann"); !a.Stuck || a.OnPart != 5*time.Minute+50*time.Second {
		t.Errorf("ann should be stuck: %+v", a)
	}
	if b := rowOf(t, c, "bob"); b.Stuck {
		t.Errorf("bob solved and is not stuck: %+v", b)
	}
	// Moving on un-sticks.
	ann.Report(class.Event{Kind: class.PartEntered, Lesson: "uts", Part: lessons.PartPerform})
	if a := rowOf(t, c, "ann"); a.Stuck || a.OnPart != 0 {
		t.Errorf("ann moved on: %+v", a)
	}
	// Left: not connected, not stuck, no idle.
	bob.Leave()
	clk.Add(time.Hour)
	if b := rowOf(t, c, "bob"); b.Connected || b.Stuck || b.Idle != 0 {
		t.Errorf("bob left: %+v", b)
	}
	if a := rowOf(t, c, "ann"); !a.Stuck {
		t.Errorf("ann an hour on perform: %+v", a)
	}
	// The instructor gives this part more time.
	c.SetStuckAfter(2 * time.Hour)
	if a := rowOf(t, c, "ann"); a.Stuck || c.StuckAfter() != 2*time.Hour {
		t.Errorf("two hours allowed: %+v", a)
	}
}

// A row goes through JSON (the control socket) whole, its durations as
// seconds.
func TestRowJSON(t *testing.T) {
	r := class.Row{Name: "ann", Connected: true, Lesson: "uts", Part: lessons.PartObserve, OnPart: 65 * time.Second,
		Idle: 3 * time.Second, Prediction: "right", Hints: 2, Solved: true, SolutionShown: true, Stuck: true}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"on_part_seconds":65`) || !strings.Contains(string(data), `"idle_seconds":3`) {
		t.Errorf("durations: %s", data)
	}
	var back class.Row
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back != r {
		t.Errorf("round trip: got %+v, want %+v", back, r)
	}
}

func TestOlderMoveNeverReplacesNewer(t *testing.T) {
	clk := newClock()
	c := open(t, t.TempDir(), clk)
	s := join(t, c, "ann")
	t0 := clk.Now()
	s.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartConcept, Time: t0})
	s.Report(class.Event{Kind: class.PartEntered, Lesson: "uts", Part: lessons.PartPerform, Time: t0.Add(2 * time.Second)})
	s.Report(class.Event{Kind: class.PartEntered, Lesson: "uts", Part: lessons.PartPredict, Time: t0.Add(time.Second)})
	if r := rowOf(t, c, "ann"); r.Part != lessons.PartPerform {
		t.Errorf("the newer move is perform, got %s", r.Part)
	}
}

func TestNotices(t *testing.T) {
	clk := newClock()
	c := open(t, t.TempDir(), clk)
	ann := join(t, c, "ann")
	c.Broadcast("look up")
	c.Follow("uts", lessons.PartPerform)
	if n := <-ann.Notices(); n != (class.Broadcast{Text: "look up"}) {
		t.Errorf("first notice %#v", n)
	}
	if n := <-ann.Notices(); n != (class.Follow{Lesson: "uts", Part: lessons.PartPerform}) {
		t.Errorf("second notice %#v", n)
	}
	// A learner who joins during follow mode follows at once.
	bob := join(t, c, "bob")
	if n := <-bob.Notices(); n != (class.Follow{Lesson: "uts", Part: lessons.PartPerform}) {
		t.Errorf("bob's first notice %#v", n)
	}
	c.Unfollow()
	if n := <-ann.Notices(); n != (class.Unfollow{}) {
		t.Errorf("unfollow: %#v", n)
	}
	<-bob.Notices()
	select {
	case <-bob.Ended():
		t.Fatal("ended before End")
	default:
	}
	if err := c.End("bob", "class is over"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-bob.Ended():
	default:
		t.Error("End did not mark bob's seat ended")
	}
	if n := <-bob.Notices(); n != (class.EndSession{Why: "class is over"}) {
		t.Errorf("end: %#v", n)
	}
	if err := c.End("bob", "twice"); err != nil { // a second End does not panic
		t.Fatal(err)
	}
	<-bob.Notices()
	if err := c.End("carl", "x"); !errors.Is(err, class.ErrNoLearner) {
		t.Errorf("ending a learner who is not there: %v", err)
	}

	// The instructor never waits: a learner whose program reads nothing
	// keeps the newest notices.
	for i := range 100 {
		c.Broadcast(strings.Repeat("x", i))
	}
	var last class.Notice
	for n := 0; ; n++ {
		select {
		case x := <-ann.Notices():
			last = x
			continue
		default:
		}
		if n == 0 || n > 16 {
			t.Errorf("%d notices kept", n)
		}
		break
	}
	if last != (class.Broadcast{Text: strings.Repeat("x", 99)}) {
		t.Errorf("the newest notice was dropped; last kept %#v", last)
	}
}

func TestRejoinReplacesTheOldSeat(t *testing.T) {
	clk := newClock()
	c := open(t, t.TempDir(), clk)
	old := join(t, c, "ann")
	old.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartObserve})
	now := join(t, c, "ann")
	if n := <-old.Notices(); n == nil {
		t.Fatal("no notice")
	} else if _, ok := n.(class.EndSession); !ok {
		t.Errorf("the old seat got %#v, want EndSession", n)
	}
	select {
	case <-old.Ended():
	default:
		t.Error("the old seat is not marked ended")
	}
	// The old session's late events and its Leave change nothing.
	old.Report(class.Event{Kind: class.PartEntered, Lesson: "uts", Part: lessons.PartRecap})
	old.Leave()
	r := rowOf(t, c, "ann")
	if !r.Connected || r.Part != lessons.PartObserve {
		t.Errorf("after the old seat left: %+v", r)
	}
	now.Leave()
	if r := rowOf(t, c, "ann"); r.Connected {
		t.Errorf("left: %+v", r)
	}
}

// The state survives the server: Close, reopen (every learner
// disconnected, their records kept), and Load reads it without a server.
func TestPersisted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "class")
	clk := newClock()
	c := open(t, dir, clk)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", fi.Mode().Perm())
	}
	s := join(t, c, "ann")
	s.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartChallenge})
	s.Report(class.Event{Kind: class.HintShown, Lesson: "uts", Hints: 1})
	// Written within SaveEvery, while the class runs.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := class.Load(dir)
		if err == nil && len(st.Records()) == 1 && st.Records()[0].Lessons["uts"] != nil && st.Records()[0].Lessons["uts"].Hints == 1 {
			if !st.Records()[0].Connected {
				t.Errorf("during the class ann is connected: %+v", st.Records()[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the state was not written during the class: %+v %v", st, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err = os.Stat(filepath.Join(dir, "class.json"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	st, err := class.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Records(); len(r) != 1 || r[0].Connected || r[0].Lessons["uts"].Hints != 1 {
		t.Errorf("after the class: %+v", r)
	}
	// Reopened: ann's record is back, disconnected; she rejoins with it.
	c2 := open(t, dir, clk)
	if r := rowOf(t, c2, "ann"); r.Connected || r.Lesson != "uts" {
		t.Errorf("reopened: %+v", r)
	}
	join(t, c2, "ann")
	if r := rowOf(t, c2, "ann"); !r.Connected || r.Hints != 1 {
		t.Errorf("rejoined: %+v", r)
	}
	// No temporary files are left beside it.
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("state dir holds %v", ents)
	}
}

func TestLoadRefusesWhatItCannotRead(t *testing.T) {
	dir := t.TempDir()
	if _, err := class.Load(dir); !errors.Is(err, class.ErrNoState) {
		t.Errorf("empty dir: %v", err)
	}
	for _, bad := range []string{`{`, `{"version":2,"learners":{}}`, `{"version":1,"learners":{"ann":{"name":"bob"}}}`, `{"version":1,"learners":{"ann":null}}`} {
		if err := os.WriteFile(filepath.Join(dir, "class.json"), []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := class.Load(dir); !errors.Is(err, class.ErrStateCorrupt) {
			t.Errorf("%s: %v", bad, err)
		}
		if _, err := class.Open(dir, class.Options{}); !errors.Is(err, class.ErrStateCorrupt) {
			t.Errorf("open %s: %v", bad, err)
		}
	}
}

// A reader during the class never sees a half-written file.
func TestWritesAreAtomic(t *testing.T) {
	dir := t.TempDir()
	c, err := class.Open(dir, class.Options{SaveEvery: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			s, _ := c.Join("l" + strings.Repeat("x", i%40))
			s.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartPredict})
		}
	}()
	for range 300 {
		if _, err := class.Load(dir); err != nil && !errors.Is(err, class.ErrNoState) {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
}

func exportFixture(t *testing.T) []class.Record {
	clk := newClock()
	c := open(t, t.TempDir(), clk)
	ann, bob, carl := join(t, c, "ann"), join(t, c, "bob"), join(t, c, "carl")
	_ = carl
	ann.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartConcept})
	ann.Report(class.Event{Kind: class.PredictionAnswered, Lesson: "uts", Right: true})
	clk.Add(90 * time.Second)
	ann.Report(class.Event{Kind: class.ChallengeSolved, Lesson: "uts"})
	ann.Report(class.Event{Kind: class.LessonOpened, Lesson: "pid", Part: lessons.PartObserve})
	bob.Report(class.Event{Kind: class.LessonOpened, Lesson: "uts", Part: lessons.PartChallenge})
	bob.Report(class.Event{Kind: class.HintShown, Lesson: "uts", Hints: 3})
	bob.Report(class.Event{Kind: class.SolutionShown, Lesson: "uts"})
	bob.Report(class.Event{Kind: class.ChallengeSolved, Lesson: "uts"})
	return c.Records()
}

func TestExportCSV(t *testing.T) {
	var b bytes.Buffer
	if err := class.WriteCSV(&b, exportFixture(t)); err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"learner", "lesson", "part", "predicted", "predicted_right", "hints", "solved", "solution_shown", "seconds_to_solve"},
		{"ann", "pid", "observe", "false", "false", "0", "false", "false", "0"},
		{"ann", "uts", "concept", "true", "true", "0", "true", "false", "90"},
		{"bob", "uts", "challenge", "false", "false", "3", "true", "true", "0"},
		{"carl", "", "", "false", "false", "0", "false", "false", "0"},
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines: %q", len(lines), lines)
	}
	for i := range want {
		if strings.Join(lines[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("line %d: got %q, want %q", i, lines[i], want[i])
		}
	}
}

func TestExportJSON(t *testing.T) {
	var b bytes.Buffer
	if err := class.WriteJSON(&b, exportFixture(t)); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Results []class.Result }
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 4 {
		t.Fatalf("%d results: %s", len(doc.Results), b.String())
	}
	if r := doc.Results[1]; r.Learner != "ann" || r.Lesson != "uts" || !r.Solved || !r.PredictedRight || r.SecondsToSolve != 90 {
		t.Errorf("ann/uts: %+v", r)
	}
	if r := doc.Results[2]; r.Learner != "bob" || !r.SolutionShown || r.Hints != 3 {
		t.Errorf("bob/uts: %+v", r)
	}
	// An empty class is an empty list, not null.
	b.Reset()
	if err := class.WriteJSON(&b, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"results": []`) {
		t.Errorf("empty: %s", b.String())
	}
}

func TestExportJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := class.WriteJUnit(&b, exportFixture(t)); err != nil {
		t.Fatal(err)
	}
	type prop struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	type tcase struct {
		Name      string    `xml:"name,attr"`
		Classname string    `xml:"classname,attr"`
		Props     []prop    `xml:"properties>property"`
		Failure   *struct{} `xml:"failure"`
		Skipped   *struct{} `xml:"skipped"`
	}
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Skipped  int      `xml:"skipped,attr"`
		Suites   []struct {
			Name  string  `xml:"name,attr"`
			Tests int     `xml:"tests,attr"`
			Cases []tcase `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if doc.Tests != 3 || doc.Failures != 1 || doc.Skipped != 1 || len(doc.Suites) != 3 {
		t.Fatalf("totals: %+v\n%s", doc, b.String())
	}
	ann := doc.Suites[0]
	if ann.Name != "ann" || len(ann.Cases) != 2 {
		t.Fatalf("ann: %+v", ann)
	}
	if c := ann.Cases[0]; c.Name != "pid" || c.Failure == nil || c.Skipped != nil {
		t.Errorf("ann/pid is unsolved, a failure: %+v", c)
	}
	if c := ann.Cases[1]; c.Name != "uts" || c.Failure != nil || c.Skipped != nil {
		t.Errorf("ann/uts solved, passes: %+v", c)
	}
	bob := doc.Suites[1].Cases[0]
	if bob.Skipped == nil || bob.Failure != nil {
		t.Errorf("bob was shown the solution, skipped: %+v", bob)
	}
	props := map[string]string{}
	for _, p := range bob.Props {
		props[p.Name] = p.Value
	}
	if props["hints"] != "3" || props["solution_shown"] != "true" || props["prediction"] != "none" {
		t.Errorf("bob's properties: %v", props)
	}
	if s := doc.Suites[2]; s.Name != "carl" || len(s.Cases) != 0 {
		t.Errorf("carl opened nothing: %+v", s)
	}
}
