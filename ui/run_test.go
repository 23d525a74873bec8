package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/ui/internal/uitest"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// syncBuffer is an output the test reads while the program writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runTUI starts Run over fakes and returns its input, output, the
// sessions it opened and its result.
type runCase struct {
	in       *io.PipeWriter
	out      *syncBuffer
	done     chan error
	mu       sync.Mutex
	sessions []*uitest.Session
	cancel   context.CancelFunc
}

func startRun(t *testing.T, hook func(*uitest.Session), start string) *runCase {
	return startRunEnv(t, hook, start, nil, true)
}

// startRunEnv is startRun on a terminal with the environment env.
func startRunEnv(t *testing.T, hook func(*uitest.Session), start string, env []string, noColor bool) *runCase {
	t.Helper()
	pr, pw := io.Pipe()
	rc := &runCase{in: pw, out: &syncBuffer{}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	rc.cancel = cancel
	t.Cleanup(cancel)
	opts := Options{
		Lessons:     uitest.Lessons(),
		Progress:    &uitest.Store{},
		StartLesson: start,
		Input:       pr,
		Output:      rc.out,
		NoColor:     noColor,
		Environ:     env,
		NewSession: func(l lessons.Lesson) lesson.Session {
			s := uitest.NewSession(l)
			if hook != nil {
				hook(s)
			}
			rc.mu.Lock()
			rc.sessions = append(rc.sessions, s)
			rc.mu.Unlock()
			return s
		},
	}
	go func() { rc.done <- RunProgram(ctx, opts) }()
	return rc
}

func (rc *runCase) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ansi.Strip(rc.out.String()), s) {
		if time.Now().After(deadline) {
			t.Fatalf("output never showed %q:\n%s", s, ansi.Strip(rc.out.String()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// type_ types keys one by one: bubbletea reads runes arriving together as
// one key message.
func (rc *runCase) type_(t *testing.T, s string) {
	t.Helper()
	for _, c := range []byte(s) {
		if _, err := rc.in.Write([]byte{c}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (rc *runCase) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-rc.done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	return nil
}

// allClosed checks every session Run opened was closed.
func (rc *runCase) allClosed(t *testing.T) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.sessions) == 0 {
		t.Fatal("no session was opened")
	}
	for i, s := range rc.sessions {
		if s.ClosedCount() == 0 {
			t.Errorf("session %d (%s) not closed", i, s.Lesson().ID)
		}
	}
}

// The screen when Run starts a lesson has its step bar; the fake
// terminal is 80x24 once bubbletea is told so.
func TestRunWaysOut(t *testing.T) {
	cases := []struct {
		name    string
		act     func(t *testing.T, rc *runCase)
		wantErr func(error) bool
	}{
		{"q from lesson then home", func(t *testing.T, rc *runCase) {
			rc.type_(t, "q")
			rc.waitOutput(t, "Linux namespaces, for real")
			rc.type_(t, "q")
		}, func(err error) bool { return err == nil }},
		{"ctrl+c", func(t *testing.T, rc *runCase) { rc.type_(t, "\x03") }, func(err error) bool { return err == nil }},
		{"context cancelled", func(t *testing.T, rc *runCase) { rc.cancel() }, func(err error) bool { return errors.Is(err, context.Canceled) }},
		{"SIGTERM", func(t *testing.T, rc *runCase) {
			if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		}, func(err error) bool { return err == nil }},
		{"SIGHUP", func(t *testing.T, rc *runCase) {
			if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
		}, func(err error) bool { return errors.Is(err, ErrHangup) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := startRun(t, nil, "uts")
			rc.waitOutput(t, "CONCEPT")
			// Perform so that the session holds a (fake) sandbox.
			rc.type_(t, "nn\r")
			rc.waitOutput(t, "sandbox live")
			tc.act(t, rc)
			err := rc.result(t)
			if !tc.wantErr(err) {
				t.Errorf("Run returned %v", err)
			}
			rc.allClosed(t)
			out := rc.out.String()
			// The terminal is restored: alt screen left, cursor shown.
			if !strings.Contains(out, "\x1b[?1049l") || !strings.Contains(out, "\x1b[?25h") {
				t.Errorf("terminal not restored (no alt-screen exit or cursor show) in %q", out[max(len(out)-200, 0):])
			}
		})
	}
}

// panicLesson panics when the lesson screen asks for its lesson, which
// it does in Update: bubbletea recovers, restores the terminal, and Run
// still closes the sessions opened before.
type panicSession struct{ *uitest.Session }

func (panicSession) Lesson() lessons.Lesson { panic("lesson exploded") }

func TestRunPanicInUpdate(t *testing.T) {
	pr, pw := io.Pipe()
	out := &syncBuffer{}
	var opened []*uitest.Session
	var mu sync.Mutex
	done := make(chan error, 1)
	go func() {
		done <- RunProgram(context.Background(), Options{
			Lessons: uitest.Lessons(), Input: pr, Output: out, NoColor: true,
			NewSession: func(l lessons.Lesson) lesson.Session {
				s := uitest.NewSession(l)
				mu.Lock()
				opened = append(opened, s)
				mu.Unlock()
				return panicSession{s}
			},
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ansi.Strip(out.String()), "Linux namespaces") {
		if time.Now().After(deadline) {
			t.Fatal("no home screen")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, k := range []string{"j", "\r"} {
		if _, err := pw.Write([]byte(k)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case err := <-done:
		if !errors.Is(err, tea.ErrProgramPanic) {
			t.Errorf("Run returned %v, want a panic error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after a panic")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(opened) != 1 || opened[0].ClosedCount() != 1 {
		t.Errorf("sessions after a panic: %d opened, closed %v", len(opened), opened)
	}
	if s := out.String(); !strings.Contains(s, "\x1b[?25h") {
		t.Error("cursor not shown again after the panic")
	}
}

func TestRunNeedsEngine(t *testing.T) {
	if err := RunProgram(context.Background(), Options{Input: strings.NewReader(""), Output: io.Discard}); err == nil {
		t.Fatal("Run without engine or session factory succeeded")
	}
}

// TestRunKeyBurstFromInput: three letters in one read of the terminal are
// three key presses: the cursor lands on the fourth lesson.
func TestRunKeyBurstFromInput(t *testing.T) {
	rc := startRun(t, nil, "")
	rc.waitOutput(t, "Linux namespaces, for real")
	if _, err := rc.in.Write([]byte("jjj")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	rc.type_(t, "\r")
	rc.waitOutput(t, "CONCEPT")
	rc.type_(t, "\x03")
	if err := rc.result(t); err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.sessions) != 1 || rc.sessions[0].Lesson().ID != "net" {
		t.Errorf("opened %d sessions, the first %v; want net", len(rc.sessions), rc.sessions)
	}
}

// TestTwoPrograms: two programs in one process, each on its own terminal:
// one that wants colour, one with NO_COLOR in its environment. Each
// draws in its own colours, takes its own keys, and closes its own
// lessons: no state is shared through the process.
func TestTwoPrograms(t *testing.T) {
	// CLICOLOR_FORCE: the outputs are pipes, not terminals.
	colour := startRunEnv(t, nil, "uts", []string{"TERM=xterm-256color", "CLICOLOR_FORCE=1"}, false)
	plain := startRunEnv(t, nil, "pid", []string{"TERM=xterm-256color", "CLICOLOR_FORCE=1", "NO_COLOR=1"}, false)
	for _, rc := range []*runCase{colour, plain} {
		rc.waitOutput(t, "CONCEPT")
		rc.type_(t, "nn\r")
		rc.waitOutput(t, "sandbox live")
	}
	colour.type_(t, "q")
	colour.waitOutput(t, "Linux namespaces, for real")
	plain.type_(t, "\x03")
	if err := plain.result(t); err != nil {
		t.Errorf("the plain program: %v", err)
	}
	colour.type_(t, "q")
	if err := colour.result(t); err != nil {
		t.Errorf("the colour program: %v", err)
	}
	if out := colour.out.String(); !colourSGR.MatchString(out) {
		t.Error("the program on a colour terminal drew no colour")
	}
	if out := plain.out.String(); colourSGR.MatchString(out) {
		t.Errorf("the program with NO_COLOR drew colour: %q", colourSGR.FindString(out))
	}
	for _, rc := range []*runCase{colour, plain} {
		rc.allClosed(t)
	}
	if id := plain.sessions[0].Lesson().ID; id != "pid" {
		t.Errorf("the plain program opened %q, want pid", id)
	}
}
