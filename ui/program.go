// Package ui is nslab's terminal interface: RunProgram runs one
// bubbletea program over a terminal's input and output — the home page,
// the lesson page and the shell inside the sandbox — and closes every
// lesson it opened on every way out.
//
// Below it, common holds what every part shares, components/* the parts
// of a screen, and pages/* the screens. The ui drives lessons only
// through pages/lesson.Session, makes no syscall itself and keeps no
// package-level state: several programs can run in one process, each on
// its own terminal with its own styles and colour profile.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/common"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// ProgressStore keeps the learner's progress (cmd/nslab's progress file is one).
type ProgressStore interface {
	Load() (lessons.Progress, string /*warning*/, error)
	Save(lessons.Progress) error
}

// Options configure RunProgram.
type Options struct {
	// Engine starts the lessons' sandboxes. The caller closes it;
	// RunProgram closes every lesson session it opened.
	Engine *sandbox.Engine
	// Lessons in curriculum order.
	Lessons []lessons.Lesson
	// Progress is where progress is kept; nil keeps none.
	Progress ProgressStore
	// Locks maps a lesson id to why this machine cannot perform it ("" or
	// absent: it can). A locked lesson can still be read.
	Locks map[string]string
	// LoadLocks, if set, computes Locks in the background (the machine
	// probe takes most of a second; the first frame should not wait for
	// it). Until it returns, Perform asks the learner to wait.
	LoadLocks func(context.Context) map[string]string
	// StartLesson, if set, opens that lesson at once.
	StartLesson string
	// Input and Output default to the process's stdin and stdout.
	Input  io.Reader
	Output io.Writer
	// NoColor turns colour off (so does NO_COLOR in Environ).
	NoColor bool
	// Environ is the environment of the terminal served (TERM, NO_COLOR,
	// COLORTERM...); nil is this process's. An SSH session passes its
	// own, so that each program reads its own terminal's wishes.
	Environ []string
	// Refresh is the live views' period (default 1s).
	Refresh time.Duration
	// NewSession overrides how a lesson's session is opened (tests use a
	// fake); nil opens lessons.NewSession over Engine.
	NewSession SessionFactory
	// Events, if set, is told what the learner does (a class's
	// class.Seat.Report): lesson opened and closed, part entered,
	// prediction answered, hint shown, challenge solved, solution shown,
	// keys pressed. It is called from the program's event loop and must
	// not block.
	Events func(Event)
	// Notices, if set, brings the instructor's notices (a class's
	// class.Seat.Notices): a message, follow mode, the end of the session
	// (then RunProgram returns an error wrapping ErrSessionEnded).
	Notices <-chan Notice
	// Served marks a program that serves a remote terminal (an SSH
	// session, ui/serve): the process's signals are the server's, not
	// this program's, so it handles neither SIGINT/SIGTERM nor SIGHUP;
	// the server ends it through ctx.
	Served bool
	// ProgramOptions are appended after RunProgram's own bubbletea
	// options, so they win (an SSH server passes its session's output,
	// environment, window size and colour profile), except the input:
	// that is always Input.
	ProgramOptions []tea.ProgramOption
	// Resize carries the remote terminal's new sizes (an SSH session's
	// window-change requests: no SIGWINCH reaches the program for them).
	// The full-screen shell's pty follows them too (common.Window).
	Resize <-chan tea.WindowSizeMsg
}

// fps is the renderer's frame rate. The renderer wakes up every frame even
// when nothing changed, and on a small VM a wake-up costs about 0.3 ms;
// and it writes only on a frame, so a key typed in the shell pane echoes
// about one frame later. Measured with the pane open (BenchmarkShellPane):
// 10 fps +97 ms echo, 0.5% idle; 30 fps +30 ms, 0.9%; 60 fps +15 ms, 1.9%.
// 30 keeps idle under 1% of a core.
const fps = 30

// ErrHangup is returned when the terminal went away (SIGHUP).
var ErrHangup = errors.New("terminal hung up")

// RunProgram runs the TUI until the learner quits. Every way out — q, ctrl+c,
// SIGTERM, SIGHUP, ctx cancelled, a panic in the ui — restores the
// terminal (bubbletea's shutdown) and closes every lesson session it opened.
func RunProgram(ctx context.Context, opts Options) (err error) {
	if opts.Input == nil {
		opts.Input = os.Stdin
	}
	if opts.Output == nil {
		opts.Output = os.Stdout
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	sessions := &openSessions{}
	defer func() {
		if cerr := sessions.closeAll(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	// Cancelled first on the way out: the shell panes hang up their
	// shells before the sandboxes close.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Each program has its own styles, built here and handed down in a
	// common.Common; lipgloss v2 has no Renderer to hang them on. They
	// are dark until the terminal answers Init's question about its
	// background, asked and answered through this program's own input
	// and output. The colour profile is this program's too: bubbletea
	// detects it from the program's output and environment (an SSH
	// session passes its own with tea.WithEnvironment), and downsamples
	// every frame to it. That is DESIGN.md's "per-program renderer".
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	st := common.NewStyles(true, opts.NoColor || noColorIn(opts.Environ))
	// The program is created after the factory that refers to it; nudge
	// reaches it through this variable once it exists.
	var p *tea.Program
	nudge := func(sandbox.Event) {
		if p != nil {
			// Send blocks until the event loop takes the message; the
			// event may come from inside a command the loop waits on.
			go p.Send(lesson.TraceMsg{})
		}
	}
	factory := opts.NewSession
	if factory == nil {
		if opts.Engine == nil {
			return errors.New("ui: no sandbox engine")
		}
		eng := opts.Engine
		factory = func(l lessons.Lesson) lesson.Session { return lessons.NewSession(eng, l, nudge) }
	}
	inputGone := make(chan struct{})
	var shared *common.Handoff
	if f, ok := opts.Input.(*os.File); ok {
		opts.Input = &hangupInput{File: f, gone: inputGone}
	} else {
		// Not a file, so bubbletea cannot cancel a read of it: the
		// program and a full-screen shell share it through one reader.
		shared = common.NewHandoff(opts.Input)
		opts.Input = shared
	}
	// The class's end of the session also hangs up a full-screen shell:
	// the program waits for the shell and reads no notice meanwhile.
	shells, endShells := context.WithCancel(ctx)
	defer endShells()
	if in := opts.Notices; in != nil {
		out := make(chan Notice)
		opts.Notices = out
		go forwardNotices(ctx, in, out, endShells)
	}
	var window *common.Window
	if opts.Resize != nil {
		window = &common.Window{}
	}
	app := newApp(appConfig{
		ctx: ctx, styles: st, lessons: opts.Lessons, locks: opts.Locks, store: opts.Progress,
		newSession: factory, sessions: sessions, refresh: opts.Refresh, startLesson: opts.StartLesson,
		loadLocks: opts.LoadLocks, events: opts.Events, notices: opts.Notices, input: shared, shells: shells,
		window: window,
	})
	popts := []tea.ProgramOption{
		tea.WithContext(ctx),
		tea.WithInput(opts.Input),
		tea.WithOutput(opts.Output),
		tea.WithFPS(fps),
		tea.WithEnvironment(opts.Environ),
		// Without a terminal to ask for a size (a pipe, a test), the
		// smallest supported one; a terminal's own size replaces it.
		tea.WithWindowSize(80, 24),
	}
	if opts.Served {
		popts = append(popts, tea.WithoutSignalHandler())
	}
	if st.NoColor {
		// The program detects its colour profile from its own output and
		// environment; no colour overrides that, for this program only.
		popts = append(popts, tea.WithColorProfile(colorprofile.Ascii))
	}
	// The input is always opts.Input (through the handoff), whatever
	// ProgramOptions say: wish's options name the session's channel.
	popts = append(append(popts, opts.ProgramOptions...), tea.WithInput(opts.Input))
	p = tea.NewProgram(&runningApp{app: app}, popts...)

	// bubbletea handles SIGINT and SIGTERM; a closed terminal sends
	// SIGHUP, which would otherwise kill the process before the sandboxes
	// are closed. A terminal can also go away without a SIGHUP reaching
	// nslab (a SIGHUP sent only to the session leader, which died): then
	// reads of it return EOF or EIO (hangupInput), which ends the program
	// the same way.
	hup := make(chan os.Signal, 1)
	if !opts.Served {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	hung := make(chan struct{})
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-hup:
		case <-inputGone:
		case <-done:
			return
		}
		close(hung)
		p.Kill()
	}()
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case <-done:
					return
				case sz, ok := <-opts.Resize:
					if !ok {
						return
					}
					window.Set(sz.Width, sz.Height)
					// Send blocks until the loop takes it; done ends the wait.
					go p.Send(sz)
				}
			}
		}()
	}

	final, err := p.Run()
	if r, ok := final.(*runningApp); ok && r.app.hungUp {
		return ErrHangup
	}
	if r, ok := final.(*runningApp); ok && r.app.cls.ended != "" {
		return fmt.Errorf("%w: %s", ErrSessionEnded, r.app.cls.ended)
	}
	select {
	case <-hung:
		return ErrHangup
	default:
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil && !errors.Is(err, tea.ErrProgramPanic):
		return ctx.Err()
	}
	return fmt.Errorf("ui: %w", err)
}

// forwardNotices passes the class's notices on to the program until ctx
// ends, calling end first on the end of the session.
func forwardNotices(ctx context.Context, in <-chan Notice, out chan<- Notice, end func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case n, ok := <-in:
			if !ok {
				return
			}
			if _, ok := n.(class.EndSession); ok {
				end()
			}
			select {
			case out <- n:
			case <-ctx.Done():
				return
			}
		}
	}
}

// noColorIn reports whether env asks for no colour (https://no-color.org:
// NO_COLOR set to anything non-empty).
func noColorIn(env []string) bool {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "NO_COLOR="); ok && v != "" {
			return true
		}
	}
	return false
}

// hangupInput is the terminal's input file, which tells when the terminal
// went away: in raw mode a read of a terminal returns 0 bytes (EOF) only
// after a hangup, and EIO once nslab is no longer attached to it.
// bubbletea's reader ends quietly on EOF and would leave nslab running
// with no terminal. It stays an *os.File underneath (Fd, Name, Write) so
// that bubbletea still puts it in raw mode and polls it.
type hangupInput struct {
	*os.File
	gone chan struct{}
	once sync.Once
}

func (h *hangupInput) Read(p []byte) (int, error) {
	n, err := h.File.Read(p)
	if n == 0 && len(p) > 0 && (errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO)) {
		h.once.Do(func() { close(h.gone) })
	}
	return n, err
}
