package ui

import (
	"context"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/components/shellpane"
	"github.com/nslab/nslab/ui/internal/uitest"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// heapLearner is one learner's program as nslab serve runs it (the App
// updated in place, bubbletea's renderer at 30 fps on a 120×40
// terminal), over a fake session: what it shows is watched after every
// message.
type heapLearner struct {
	p    *tea.Program
	term *shellpane.Term
	in   *io.PipeWriter
	done chan struct{}

	mu    sync.Mutex
	state heapState
}

type heapState struct {
	loaded    bool
	part      lessons.Part
	observed  bool
	shellOpen bool
	screen    string
}

type watched struct {
	r *runningApp
	l *heapLearner
}

func (w watched) Init() tea.Cmd { return w.r.Init() }
func (w watched) View() tea.View {
	v := w.r.View()
	w.l.mu.Lock()
	w.l.state.screen = v.Content
	w.l.mu.Unlock()
	return v
}
func (w watched) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	_, c := w.r.Update(msg)
	l, open := w.r.app.Lesson()
	w.l.mu.Lock()
	w.l.state.loaded = w.r.app.loaded
	w.l.state.part, w.l.state.observed, w.l.state.shellOpen = l.Part(), open && l.Observed() && !l.Busy(), open && l.ShellOpen()
	w.l.mu.Unlock()
	return w, c
}

func (l *heapLearner) until(tb testing.TB, what string, cond func(heapState) bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		l.mu.Lock()
		ok := cond(l.state)
		l.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startHeapLearner opens lesson uts, performs it, moves to its
// Experiment part and opens the shell pane (a Fake term with a prompt,
// sized by the pane), and types a key and erases it.
func startHeapLearner(tb testing.TB, ctx context.Context, obs lessons.Observation) *heapLearner {
	tb.Helper()
	p := lessons.NewProgress()
	p.Seed = 1
	app := newApp(appConfig{
		ctx: ctx, styles: common.NewStyles(true, false), lessons: uitest.Lessons(), store: uitest.NewStore(p),
		refresh: time.Second,
		newSession: func(l lessons.Lesson) lesson.Session {
			s := uitest.NewSession(l)
			s.SetObservation(obs)
			return s
		},
	})
	pr, pw := io.Pipe()
	l := &heapLearner{in: pw, done: make(chan struct{})}
	l.p = tea.NewProgram(watched{&runningApp{app: app}, l},
		tea.WithContext(ctx), tea.WithInput(pr), tea.WithOutput(io.Discard), tea.WithFPS(fps),
		tea.WithEnvironment([]string{"TERM=xterm-256color", "COLORTERM=truecolor"}),
		tea.WithWindowSize(120, 40), tea.WithoutSignalHandler())
	go func() {
		defer close(l.done)
		_, _ = l.p.Run()
	}()
	keys := func(ks ...string) {
		for _, k := range ks {
			l.p.Send(uitest.Key(k))
		}
	}
	// Keys wait for the progress, as a person's do.
	l.until(tb, "progress loaded", func(s heapState) bool { return s.loaded })
	keys("j", "enter", "n", "n", "enter")
	l.until(tb, "observed", func(s heapState) bool { return s.observed })
	keys("n", "n")
	l.until(tb, "experiment", func(s heapState) bool { return s.part == lessons.PartExperiment && s.observed })
	// 1×1, then resized by the pane: widening a line appends to it, so
	// the emulator's screens end with about the cells a shell started at
	// the pane's size has.
	l.term = shellpane.Fake(1, 1, "")
	l.p.Send(shellpane.StartedMsg{Term: l.term})
	l.until(tb, "the shell pane", func(s heapState) bool { return s.shellOpen })
	l.term.Feed(fakeShell)
	l.term.Feed("Q")
	l.term.Feed("\b \b")
	return l
}

// heapUse is what the garbage collector sees after two collections: the
// heap in use, and what a cycle scans of the heap and of goroutine stacks
// (runtime/metrics: a buffer without pointers is in use but not scanned).
type heapUse struct{ live, scanHeap, scanStack uint64 }

func liveHeap() heapUse {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/heap:bytes"}, {Name: "/gc/scan/stack:bytes"}}
	metrics.Read(s)
	return heapUse{s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()}
}

// BenchmarkLearnerHeap is the live heap one learner of a class costs the
// server: 20 programs on lesson uts with the shell pane open and the views
// live, as BenchmarkClassLoad's learners have them; the host's observation
// has 600 processes, as a class of 200 has. bytes/learner is the heap in
// use with them running less the heap before, after collections: the
// garbage collector marks all of it at every cycle (README, "A class on
// one machine"). One run is the measure (-benchtime 1x).
func BenchmarkLearnerHeap(b *testing.B) {
	const n = 20
	obs := uitest.Observation(600, 40)
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		before := liveHeap()
		ls := make([]*heapLearner, 0, n)
		for range n {
			ls = append(ls, startHeapLearner(b, ctx, obs))
		}
		// Every program has drawn its frames and run a live refresh.
		time.Sleep(1500 * time.Millisecond)
		after := liveHeap()
		b.ReportMetric(float64(after.live-before.live)/n, "bytes/learner")
		b.ReportMetric(float64(after.scanHeap-before.scanHeap)/n, "scan-heap-B/learner")
		b.ReportMetric(float64(after.scanStack-before.scanStack)/n, "scan-stack-B/learner")
		cancel()
		for _, l := range ls {
			_ = l.in.Close()
			<-l.done
		}
	}
}
