package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/internal/uitest"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// spy wraps the App to let tests wait on its state, not only its output.
type spy struct {
	a App
	s *spyState
}

type spyState struct {
	mu   sync.Mutex
	last App
	// seen is every screen drawn since the last keys, ANSI stripped: the
	// v2 renderer writes only the cells that changed, so the output
	// stream no longer holds whole lines to search.
	seen strings.Builder
	// screen is the last screen, ANSI stripped. Screens are drawn on the
	// program's goroutine only: an App shares its progress map with the
	// running program, so the test must not draw one itself.
	screen string
}

func (p spy) Init() tea.Cmd  { return p.a.Init() }
func (p spy) View() tea.View { return p.a.View() }
func (p spy) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, c := p.a.Update(msg)
	a := m.(App)
	screen := ansi.Strip(a.View().Content)
	p.s.mu.Lock()
	p.s.last = a
	p.s.screen = screen
	p.s.seen.WriteString(screen)
	p.s.mu.Unlock()
	return spy{a, p.s}, c
}

// harness is an App over fakes, run by teatest.
type harness struct {
	t        *testing.T
	tm       *teatest.TestModel
	spy      *spyState
	store    *uitest.Store
	mu       sync.Mutex
	sessions []*uitest.Session
}

type harnessOpt func(*appConfig, *harness)

func withSessionHook(f func(*uitest.Session)) harnessOpt {
	return func(c *appConfig, h *harness) {
		c.newSession = func(l lessons.Lesson) lesson.Session {
			s := uitest.NewSession(l)
			f(s)
			h.mu.Lock()
			h.sessions = append(h.sessions, s)
			h.mu.Unlock()
			return s
		}
	}
}

func withStyles(st *common.Styles) harnessOpt {
	return func(c *appConfig, _ *harness) { c.styles = st }
}

func asciiStyles() *common.Styles { return common.NewStyles(true, true) }

func newHarness(t *testing.T, w, h int, store *uitest.Store, opts ...harnessOpt) *harness {
	t.Helper()
	if store == nil {
		// A learner without a seed draws one at random; the screens
		// checked here need the written order (see progressStore).
		p := lessons.NewProgress()
		p.Seed = 1
		store = uitest.NewStore(p)
	}
	hs := &harness{t: t, store: store}
	c := appConfig{
		ctx:     context.Background(),
		styles:  asciiStyles(),
		lessons: uitest.Lessons(),
		locks:   map[string]string{"net": "needs root: run with sudo (creating a veth pair needs CAP_NET_ADMIN on the host)"},
		refresh: time.Second,
	}
	if store != nil {
		c.store = store
	}
	withSessionHook(func(*uitest.Session) {})(&c, hs)
	for _, o := range opts {
		o(&c, hs)
	}
	hs.spy = &spyState{}
	hs.tm = teatest.NewTestModel(t, spy{newApp(c), hs.spy}, teatest.WithInitialTermSize(w, h))
	// Keys wait for the progress, as a person's do: a lesson opened
	// before it would be shuffled by a seed drawn for the run.
	hs.until("progress loaded", func(a App) bool { return a.loaded })
	return hs
}

// until waits until the app's state satisfies cond. cond reads the
// lesson page's state, never the App's shared maps.
func (h *harness) until(what string, cond func(App) bool) {
	h.t.Helper()
	h.untilScreen(what, func(a App, _ string) bool { return cond(a) })
}

// untilScreen waits until the app's state and its last screen satisfy
// cond.
func (h *harness) untilScreen(what string, cond func(a App, screen string) bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.spy.mu.Lock()
		ok := cond(h.spy.last, h.spy.screen)
		h.spy.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settled: a lesson is open and has no command out.
func settled(a App) bool {
	l, open := a.Lesson()
	return open && !l.Busy()
}

// at: the open lesson shows part p.
func at(p lessons.Part) func(App) bool {
	return func(a App) bool {
		l, open := a.Lesson()
		return open && l.Part() == p
	}
}

// observed: the open lesson's views show an observation, and nothing is
// out.
func observed(a App) bool {
	l, _ := a.Lesson()
	return settled(a) && l.Observed()
}

// shows: the screen shows s, and nothing is out.
func shows(s string) func(App, string) bool {
	return func(a App, screen string) bool { return settled(a) && strings.Contains(screen, s) }
}

// waitFor waits until a screen drawn since the last keys shows s.
func (h *harness) waitFor(s string) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h.spy.mu.Lock()
		ok := strings.Contains(h.spy.seen.String(), s)
		last := h.spy.screen
		h.spy.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %q; the screen:\n%s", s, last)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) keys(ks ...string) {
	h.spy.mu.Lock()
	h.spy.seen.Reset()
	h.spy.mu.Unlock()
	for _, k := range ks {
		h.tm.Send(uitest.Key(k))
	}
}

// final quits and returns the last screen, ANSI stripped.
func (h *harness) final() (App, string) {
	h.t.Helper()
	if err := h.tm.Quit(); err != nil {
		h.t.Fatal(err)
	}
	m := h.tm.FinalModel(h.t, teatest.WithFinalTimeout(5*time.Second))
	var a App
	switch m := m.(type) {
	case App:
		a = m
	case spy:
		a = m.a
	default:
		h.t.Fatalf("final model is %T", m)
	}
	return a, ansi.Strip(a.View().Content)
}

func (h *harness) session(i int) *uitest.Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	if i >= len(h.sessions) {
		h.t.Fatalf("no session %d (have %d)", i, len(h.sessions))
	}
	return h.sessions[i]
}

func progressStore() *uitest.Store {
	p := lessons.NewProgress()
	// Seed 1 shows the fake uts lesson's (number 2, three choices)
	// choices as written: (1+2) mod 3 = 0.
	p.Seed = 1
	p.Mark("overview", lessons.StatusDone, lessons.PartRecap)
	p.Mark("uts", lessons.StatusInProgress, lessons.PartConcept)
	return uitest.NewStore(p)
}

// checkScreen checks a screen's size: no line wider than w, exactly h lines.
func checkScreen(t *testing.T, screen string, w, h int) {
	t.Helper()
	uitest.CheckScreen(t, screen, w, h)
}

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}}

func TestGoldenHome(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			h := newHarness(t, sz.w, sz.h, progressStore())
			h.waitFor("min ◐ in progress") // a lesson row (the legend names the mark too)
			h.keys("j", "j", "j")          // onto the locked lesson
			h.waitFor("locked: needs root")
			_, screen := h.final()
			checkScreen(t, screen, sz.w, sz.h)
			for _, want := range []string{"● done", "◐ in progress", "○ not started", "⊘ locked: needs root", "1/4 done", "8 min"} {
				if !strings.Contains(screen, want) {
					t.Errorf("home screen lacks %q:\n%s", want, screen)
				}
			}
			golden.RequireEqual(t, []byte(screen))
		})
	}
}

func TestGoldenLesson(t *testing.T) {
	for _, sz := range sizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			h := newHarness(t, sz.w, sz.h, progressStore())
			h.waitFor("min ◐ in progress") // a lesson row (the legend names the mark too)
			h.keys("j", "enter")           // open uts
			h.waitFor("[CONCEPT]")
			h.keys("n", "2", "n") // predict choice 2, on to Perform
			h.waitFor("[PERFORM]")
			h.keys("enter")
			h.untilScreen("the verdict", shows("Your prediction (2) was right"))
			h.keys("n")
			h.until("observe", at(lessons.PartObserve))
			a, screen := h.final()
			checkScreen(t, screen, sz.w, sz.h)
			for _, want := range []string{"HOST", "SANDBOX", "≠ hostname", "devbox", "lab", "unshare(CLONE_NEWUTS) = 0", "[OBSERVE]", "What the kernel shows"} {
				if !strings.Contains(screen, want) {
					t.Errorf("lesson screen lacks %q:\n%s", want, screen)
				}
			}
			if _, open := a.Lesson(); !open {
				t.Error("the lesson is not open at the end")
			}
			golden.RequireEqual(t, []byte(screen))
		})
	}
}

// TestGoldenFocusedView focuses the processes view: every row, scrollable.
func TestGoldenFocusedView(t *testing.T) {
	h := newHarness(t, 80, 24, nil)
	h.keys("j", "enter", "n", "n", "enter")
	h.until("observed", observed)
	h.keys("3")
	h.waitFor("view 3/5: processes")
	_, screen := h.final()
	checkScreen(t, screen, 80, 24)
	if !strings.Contains(screen, "6 rows: 1 differ (≠), 0 only sandbox (+), 5 only host (-)") {
		t.Errorf("focused view lacks its summary:\n%s", screen)
	}
	golden.RequireEqual(t, []byte(screen))
}

// TestFlow walks a lesson end to end: parts, prediction, perform, hints,
// the solution behind its confirmation, done; then back home.
func TestFlow(t *testing.T) {
	store := progressStore()
	h := newHarness(t, 100, 30, store)
	h.waitFor("min ◐ in progress") // a lesson row (the legend names the mark too)
	h.keys("j", "enter")
	h.waitFor("[CONCEPT]")
	h.keys("n")
	h.waitFor("[PREDICT]")
	h.waitFor("3) nothing: the call fails")
	h.keys("down", "enter") // cursor to choice 2 and pick it
	h.waitFor("← your prediction")
	h.keys("n", "c") // c outside the challenge only explains
	h.waitFor("it is in the Challenge part")
	h.keys("s") // a shell before Perform is refused with the way on
	h.waitFor("go to Perform")
	h.keys("enter")
	h.untilScreen("the verdict", shows("Your prediction (2) was right"))
	h.keys("n")
	h.until("observe", at(lessons.PartObserve))
	h.waitFor("What the kernel shows")
	h.keys("n", "n")
	h.until("challenge", at(lessons.PartChallenge))
	h.waitFor("[CHALLENGE]")
	h.keys("c")
	h.waitFor("Not yet: hostname is still box")
	h.keys("h")
	h.waitFor("Hint 1:")
	h.keys("h")
	h.waitFor("Hint 2:")
	h.keys("h")
	h.waitFor("no more hints")
	h.keys("v")
	h.waitFor("Show the solution and apply it")
	h.keys("n") // no: nothing shown, still on the challenge
	h.waitFor("solution not shown")
	h.keys("v", "y")
	h.waitFor("Solved: hostname lab")
	h.untilScreen("checked", shows("Solved: hostname lab"))
	h.keys("n")
	h.until("recap", at(lessons.PartRecap))
	h.keys("enter") // back home
	h.waitFor("● done")
	// The screen shows the progress first; the save is a Cmd of its own.
	h.until("saved", func(App) bool {
		lp := store.Get("uts")
		return lp.Status == lessons.StatusDone && lp.Part == lessons.PartRecap
	})
	a, screen := h.final()
	if _, open := a.Lesson(); open {
		t.Errorf("still in the lesson:\n%s", screen)
	}
	lp := store.Get("uts")
	if lp.Status != lessons.StatusDone || !lp.ChallengeDone || !lp.Predicted || !lp.PredictedRight || lp.HintsUsed != 2 || lp.Part != lessons.PartRecap {
		t.Errorf("saved progress: %+v", lp)
	}
	if got := lp.HowFinished(); got != "solution shown" {
		t.Errorf("finished after the solution was shown, progress says %q", got)
	}
	// Finished: the cursor moved on to the next lesson, and the score
	// counts the prediction.
	for _, want := range []string{"▸ 03 PID namespaces", "predictions 1/1 right"} {
		if !strings.Contains(screen, want) {
			t.Errorf("home after the lesson lacks %q:\n%s", want, screen)
		}
	}
	h.until("closed", func(App) bool { return h.session(0).ClosedCount() == 1 })
	if !strings.Contains(screen, "2/4 done") {
		t.Errorf("home does not count the lesson done:\n%s", screen)
	}
}

// TestLockedLessonRefusesPerform: a locked lesson can be read, not run.
func TestLockedLessonRefusesPerform(t *testing.T) {
	h := newHarness(t, 80, 24, nil)
	h.keys("j", "j", "j", "enter", "n", "n", "enter")
	h.waitFor("locked on this machine: needs root")
	_, screen := h.final()
	if s := h.session(0); s.Performed() {
		t.Error("a locked lesson was performed")
	}
	if !strings.Contains(screen, "[PERFORM]") {
		t.Errorf("not on Perform:\n%s", screen)
	}
}

func TestTooSmall(t *testing.T) {
	h := newHarness(t, 50, 12, nil)
	h.waitFor("at least 60×16")
	h.tm.Send(tea.WindowSizeMsg{Width: 80, Height: 24})
	h.waitFor("Linux namespaces, for real")
	h.tm.Send(tea.WindowSizeMsg{Width: 59, Height: 24})
	h.waitFor("59×24")
	_, screen := h.final()
	if !strings.Contains(screen, "at least 60×16") {
		t.Errorf("too-small screen:\n%s", screen)
	}
}

// TestNarrowStacks: a lesson screen just above the minimum stacks the
// HOST and SANDBOX values instead of squeezing two columns.
func TestNarrowStacks(t *testing.T) {
	h := newHarness(t, 60, 20, nil)
	h.keys("j", "enter", "n", "n", "enter")
	h.until("observed", observed)
	h.keys("n")
	h.waitFor("part 4/7: OBSERVE")
	_, screen := h.final()
	checkScreen(t, screen, 60, 20)
	if !strings.Contains(screen, "HOST then SANDBOX") || !strings.Contains(screen, "SBOX lab") {
		t.Errorf("narrow screen does not stack:\n%s", screen)
	}
}

var colourSGR = regexp.MustCompile(`\x1b\[[0-9;]*(3[0-9]|4[0-9]|9[0-7]|10[0-7])(;[0-9;]*)?m`)

// TestNoColor: with NoColor no colour escape is drawn; without it, there
// are colours (so the test can fail). Bold stays: it carries no colour
// (https://no-color.org). NO_COLOR in a terminal's environment is
// TestTwoPrograms'.
func TestNoColor(t *testing.T) {
	render := func(noColor bool) string {
		h := newHarness(t, 100, 30, progressStore(), withStyles(common.NewStyles(true, noColor)))
		h.keys("j", "enter", "n", "n", "enter")
		h.waitFor("sandbox live")
		a, _ := h.final()
		return a.View().Content
	}
	if out := render(false); !colourSGR.MatchString(out) {
		t.Fatalf("with colours on, no colour escape was drawn: %q", out)
	}
	if out := render(true); colourSGR.MatchString(out) {
		t.Errorf("NoColor drew colour: %q", colourSGR.FindString(out))
	}
}

// TestCorruptProgressWarning: the load warning shows on home once, and
// goes at the next key.
func TestCorruptProgressWarning(t *testing.T) {
	store := &uitest.Store{Warning: "progress file was corrupt; moved aside to progress.json.corrupt-1 and started fresh"}
	h := newHarness(t, 80, 24, store)
	h.waitFor("moved aside")
	h.keys("j")
	h.waitFor("▸ 02")
	_, screen := h.final()
	if strings.Contains(screen, "moved aside") {
		t.Errorf("the warning stayed after a key:\n%s", screen)
	}
}

// TestProgressErrorsShown: a store that fails to load or save is shown,
// never fatal.
func TestProgressErrorsShown(t *testing.T) {
	store := &uitest.Store{SaveErr: errors.New("disk full")}
	h := newHarness(t, 80, 24, store)
	h.keys("j", "enter")
	h.waitFor("progress not saved: disk full")
	h.final()

	bad := &uitest.Store{LoadErr: errors.New("permission denied")}
	h = newHarness(t, 80, 24, bad)
	h.waitFor("progress could not be read")
	h.keys("j", "enter")
	h.waitFor("[CONCEPT]")
	h.final()
	if bad.Saves() != 0 {
		t.Errorf("saved %d times after a failed load (it would overwrite the file)", bad.Saves())
	}
}

// TestObservePanicShown: a panic in a session's Observe becomes an error
// on screen; the program keeps running.
func TestObservePanicShown(t *testing.T) {
	h := newHarness(t, 80, 24, nil, withSessionHook(func(s *uitest.Session) { s.PanicInObserve = true }))
	h.keys("j", "enter", "n", "n", "enter")
	h.waitFor("internal error in the lesson")
	h.keys("n") // still alive: it moves on
	h.waitFor("[OBSERVE]")
	h.final()
}

// TestPerformFailureShown: a failed Perform is shown with its reason and
// the shell and challenge say why they cannot run.
func TestPerformFailureShown(t *testing.T) {
	h := newHarness(t, 100, 30, nil, withSessionHook(func(s *uitest.Session) {
		s.PerformErr = errors.New("unshare uts: operation not permitted: needs CAP_SYS_ADMIN: run with sudo")
	}))
	h.keys("j", "enter", "n", "n", "enter")
	h.waitFor("perform failed")
	h.keys("s")
	h.waitFor("the lesson's syscalls failed")
	h.final()
}

// TestLiveRefresh: the views refresh on the tick and on r.
func TestLiveRefresh(t *testing.T) {
	var fs *uitest.Session
	h := newHarness(t, 80, 24, nil, withSessionHook(func(s *uitest.Session) { fs = s }))
	h.keys("j", "enter", "n", "n", "enter")
	h.waitFor("sandbox live")
	h.keys("n")
	h.waitFor("[OBSERVE]")
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := fs.Observes()
		if n >= 3 { // the one after Perform, then ticks
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d observations in 5s with a 1s refresh", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	o := uitest.Observation(5, 6)
	o.Sandbox.Hostname = "renamed"
	fs.SetObservation(recompute(o))
	h.keys("r")
	h.waitFor("renamed")
	h.final()
}

func recompute(o lessons.Observation) lessons.Observation {
	o.Diffs = sandbox.DiffAll(o.Host, o.Sandbox)
	return o
}

// TestQuitClosesSessions: q from a lesson goes home, q from home quits,
// ctrl+c quits from a lesson; every session gets closed.
func TestQuitClosesSessions(t *testing.T) {
	for _, tc := range []struct {
		name string
		keys []string
	}{
		{"q-q", []string{"q", "q"}},
		{"ctrl+c", []string{"ctrl+c"}},
		{"esc-q", []string{"esc", "q"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss := &openSessions{}
			h := &harness{t: t, spy: &spyState{}}
			c := appConfig{ctx: context.Background(), styles: asciiStyles(), lessons: uitest.Lessons(), sessions: ss}
			withSessionHook(func(*uitest.Session) {})(&c, h)
			h.tm = teatest.NewTestModel(t, spy{newApp(c), h.spy}, teatest.WithInitialTermSize(80, 24))
			h.keys("j", "enter")
			h.waitFor("[CONCEPT]")
			h.keys(tc.keys...)
			h.tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
			// What the app did not close, Run's deferred closeAll does.
			if err := ss.closeAll(); err != nil {
				t.Fatal(err)
			}
			if n := h.session(0).ClosedCount(); n < 1 {
				t.Errorf("session not closed")
			}
		})
	}
}

// TestMouseWheelScrolls: the wheel scrolls the lesson text.
func TestMouseWheelScrolls(t *testing.T) {
	h := newHarness(t, 60, 16, nil)
	h.keys("j", "enter")
	h.until("open", at(lessons.PartConcept))
	h.waitFor("↓ more")
	h.spy.mu.Lock()
	before := h.spy.screen
	h.spy.mu.Unlock()
	h.tm.Send(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	h.untilScreen("scrolled", func(_ App, now string) bool {
		// The header stays; the text under it moved.
		return now != before && strings.Split(now, "\n")[2] != strings.Split(before, "\n")[2]
	})
	h.final()
}

// TestFullHelp: ? shows every key and the screen still fits.
func TestFullHelp(t *testing.T) {
	h := newHarness(t, 80, 24, nil)
	h.keys("j", "enter")
	h.until("open", at(lessons.PartConcept))
	h.keys("?")
	h.waitFor("ctrl+c")
	_, screen := h.final()
	checkScreen(t, screen, 80, 24)
	for _, want := range []string{"check challenge", "solution", "shell pane", "full shell", "shell/lesson", "refresh", "quit"} {
		if !strings.Contains(screen, want) {
			t.Errorf("full help lacks %q:\n%s", want, screen)
		}
	}
}

// TestLocksLoadedLater: with LoadLocks, the first frame does not wait for
// the checks; Perform waits until they are in, then obeys them.
func TestLocksLoadedLater(t *testing.T) {
	release := make(chan struct{})
	h := newHarness(t, 80, 24, nil, func(c *appConfig, _ *harness) {
		c.locks = nil
		c.loadLocks = func(ctx context.Context) map[string]string {
			<-release
			return map[string]string{"uts": "needs root: run with sudo"}
		}
	})
	h.waitFor("checking what this machine can run")
	h.keys("j", "enter", "n", "n", "enter")
	h.waitFor("press enter again in a moment")
	close(release)
	h.untilScreen("locks", func(_ App, screen string) bool { return strings.Contains(screen, "⊘ locked") })
	h.keys("enter")
	h.waitFor("locked on this machine: needs root")
	h.final()
	if h.session(0).Performed() {
		t.Error("performed a lesson locked by the late checks")
	}
}

// TestGoldenConcept: the Concept's Markdown parsed, its table drawn as a
// table (issue 10: it showed as raw "| CLONE_NEWUTS |"), at the smallest
// size and the usual one.
func TestGoldenConcept(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{60, 30}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			h := newHarness(t, sz.w, sz.h, nil)
			h.keys("j", "enter")
			h.until("concept", at(lessons.PartConcept))
			_, screen := h.final()
			checkScreen(t, screen, sz.w, sz.h)
			for _, want := range []string{"Concept: one kernel, two hostnames", "A UTS namespace isolates", "CLONE_NEWUTS", "│ hostname and NIS"} {
				if !strings.Contains(screen, want) {
					t.Errorf("concept lacks %q:\n%s", want, screen)
				}
			}
			for _, raw := range []string{"**", "`", "|---", "| CLONE"} {
				if strings.Contains(screen, raw) {
					t.Errorf("raw Markdown %q on screen:\n%s", raw, screen)
				}
			}
			golden.RequireEqual(t, []byte(screen))
		})
	}
}

// TestGoldenPredict: the question and its choices, aligned, before Perform.
func TestGoldenPredict(t *testing.T) {
	h := newHarness(t, 80, 24, nil)
	h.keys("j", "enter", "n")
	h.until("predict", at(lessons.PartPredict))
	_, screen := h.final()
	checkScreen(t, screen, 80, 24)
	for _, want := range []string{"▸ 1) lab: there is one hostname", "  2) its old name", "  3) nothing"} {
		if !strings.Contains(screen, want) {
			t.Errorf("predict screen lacks %q:\n%s", want, screen)
		}
	}
	golden.RequireEqual(t, []byte(screen))
}

// TestKeyBurst: "jjj" arriving as one key press moves three lessons down,
// like three presses (issue 10 E: runs of typed letters were lost).
func TestKeyBurst(t *testing.T) {
	h := newHarness(t, 80, 24, nil)
	h.waitFor("▸ 01")
	h.tm.Send(tea.KeyPressMsg{Code: 'j', Text: "jjj"})
	h.waitFor("locked: needs root")
	_, screen := h.final()
	if !strings.Contains(screen, "▸ 05 Network") {
		t.Errorf("the cursor is not three lessons down:\n%s", screen)
	}
}

// TestLightBackground: the terminal's answer about its background redraws
// the screens in the light palette (accent 55 instead of 141).
func TestLightBackground(t *testing.T) {
	h := newHarness(t, 80, 24, nil, withStyles(common.NewStyles(true, false)))
	h.waitFor("Linux namespaces")
	h.tm.Send(tea.BackgroundColorMsg{Color: color.White})
	h.keys("j", "enter")
	h.until("open", at(lessons.PartConcept))
	a, _ := h.final()
	out := a.View().Content
	if !strings.Contains(out, "38;5;55m") || strings.Contains(out, "38;5;141m") {
		t.Errorf("not redrawn in the light palette: %q", out[:min(len(out), 300)])
	}
}

// TestShuffledPrediction: a learner whose seed rotates the fake uts
// lesson's choices sees them in that order, the order plain mode prints
// (Lesson.Shuffled), and the verdict and progress follow the shown
// position of the right answer, which is no longer the written one.
func TestShuffledPrediction(t *testing.T) {
	p := lessons.NewProgress()
	p.Seed = 2 // (2+2) mod 3 = 1: the written third choice comes first
	store := uitest.NewStore(p)
	var uts lessons.Lesson
	for _, l := range uitest.Lessons() {
		if l.ID == "uts" {
			uts = l.Shuffled(p.Seed)
		}
	}
	h := newHarness(t, 100, 30, store)
	h.keys("j", "enter")
	h.until("concept", at(lessons.PartConcept))
	h.keys("n")
	for i, c := range uts.Prediction.Choices {
		h.waitFor(fmt.Sprintf("%d) %s", i+1, c))
	}
	h.waitFor("1) nothing: the call fails")
	h.keys("3") // "its old name", the right one, written second
	h.waitFor("← your prediction")
	h.keys("n", "enter")
	h.untilScreen("the verdict", shows("Your prediction (3) was right"))
	h.until("saved", func(App) bool { return store.Get("uts").PredictedRight })
	h.final()
	if lp := store.Get("uts"); !lp.Predicted || !lp.PredictedRight {
		t.Errorf("progress: %+v", lp)
	}
}
