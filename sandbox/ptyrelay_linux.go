package sandbox

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"
)

// ErrTerminalGone is returned when nslab's own terminal went away while
// it relayed a shell: EOF or EIO on it, as after the terminal window
// closed or `tmux kill-session`.
var ErrTerminalGone = errors.New("the terminal went away")

// How long the relay waits, once the shell ended, for its last output;
// and, once it hung the shell's pty up, for the shell to end before
// killing it.
const (
	relayDrain   = 300 * time.Millisecond
	relayHangup  = time.Second
	relayBufSize = 32 << 10
)

// FullScreenShell runs a shell command full screen on nslab's terminal
// without giving that terminal away: the shell runs on a pty of its own
// (StartOnPTY), and nslab relays bytes between the two, with its own
// terminal in raw mode and window-size changes forwarded (TIOCSWINSZ):
// its terminal's, or a Window's (SetWindow).
// nslab stays the foreground process group of its terminal throughout,
// so the shell's job control cannot stop it (SIGTTOU), and a hangup of
// nslab's terminal is seen here (ErrTerminalGone) instead of by an
// orphaned shell.
//
// It has the methods of bubbletea's ExecCommand: the program hands it
// its input and output after releasing the terminal.
type FullScreenShell struct {
	ctx context.Context
	cmd *exec.Cmd
	in  io.Reader
	out io.Writer
	// own is an input of the shell's own (SetInput), closed as soon as
	// the shell ends; SetStdin does not replace it.
	own io.ReadCloser
	win Window
}

// Window tells the size of a terminal that has no file descriptor here
// to ask (an SSH session's: its sizes come as window-change requests,
// and no SIGWINCH reaches nslab for them).
type Window interface {
	// Watch returns the terminal's size, [width, height]: the current
	// one at once if it is known, then each change (a reader that falls
	// behind gets only the latest), until stop is called.
	Watch() (sizes <-chan [2]int, stop func())
}

// NewFullScreenShell relays cmd (from Sandbox.ShellCommand) until the
// shell ends, ctx is cancelled (the shell is then hung up), or the
// terminal goes away.
func NewFullScreenShell(ctx context.Context, cmd *exec.Cmd) *FullScreenShell {
	if ctx == nil {
		ctx = context.Background()
	}
	return &FullScreenShell{ctx: ctx, cmd: cmd, in: os.Stdin, out: os.Stdout}
}

// SetStdin sets the terminal read from, unless SetInput gave the shell
// an input of its own.
func (f *FullScreenShell) SetStdin(r io.Reader) {
	if f.own == nil {
		f.in = r
	}
}

// SetInput gives the shell an input of its own, for a terminal whose
// reads cannot be cancelled (an SSH channel shared through a handoff):
// Run closes it as soon as the shell has ended, and its Close must end a
// pending Read without consuming anything, so that the next key typed
// goes to whoever reads after the shell.
func (f *FullScreenShell) SetInput(r io.ReadCloser) { f.in, f.own = r, r }

// SetWindow makes the shell's pty take w's size, and follow it, instead
// of the size of the terminal file read or written.
func (f *FullScreenShell) SetWindow(w Window) { f.win = w }

// SetStdout sets the terminal written to.
func (f *FullScreenShell) SetStdout(w io.Writer) { f.out = w }

// SetStderr does nothing: the shell's stderr is its pty.
func (f *FullScreenShell) SetStderr(io.Writer) {}

type fder interface{ Fd() uintptr }

// Run starts the shell and relays until it ends. The shell's own exit
// status is returned as cmd.Wait's error.
func (f *FullScreenShell) Run() error {
	if f.own != nil {
		defer f.own.Close()
	}
	inFd := -1
	if x, ok := f.in.(fder); ok && term.IsTerminal(x.Fd()) {
		inFd = int(x.Fd())
	}
	fdSize := func() (int, int, bool) {
		for _, s := range []any{f.out, f.in} {
			if x, ok := s.(fder); ok {
				if w, h, err := term.GetSize(x.Fd()); err == nil && w > 0 && h > 0 {
					return w, h, true
				}
			}
		}
		return 0, 0, false
	}
	w, h := 80, 24 // no size known: the smallest supported
	if fw, fh, ok := fdSize(); ok {
		w, h = fw, fh
	}
	var sizes <-chan [2]int // nil, which never receives, without a Window
	winch := make(chan os.Signal, 1)
	if f.win != nil {
		// The Window's sizes only: the process's own SIGWINCH is the
		// server's terminal's (nslab serve in a terminal), not the
		// learner's.
		c, stop := f.win.Watch()
		defer stop()
		sizes = c
		select {
		case sz := <-c:
			w, h = sz[0], sz[1]
		default:
		}
	} else {
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
	}
	master, err := StartOnPTY(f.cmd, w, h)
	if err != nil {
		return err
	}
	defer master.Close()
	waited := make(chan error, 1)
	go func() { waited <- f.cmd.Wait() }()

	if inFd >= 0 {
		if st, err := term.MakeRaw(uintptr(inFd)); err == nil {
			defer term.Restore(uintptr(inFd), st) //nolint:errcheck // nothing better to do on a terminal that is gone
		}
	}
	gone := make(chan struct{}, 2) // nslab's terminal: EOF/EIO read or write
	outDone := make(chan struct{})
	go func() {
		defer close(outDone)
		buf := make([]byte, relayBufSize)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				if _, werr := f.out.Write(buf[:n]); werr != nil {
					gone <- struct{}{}
					return
				}
			}
			if err != nil {
				return // EIO: no process holds the pty's slave any more
			}
		}
	}()
	stop, inDone, err := f.pumpInput(inFd, master, gone)
	if err != nil {
		f.hangUp(master, waited)
		return err
	}
	defer func() {
		stop()
		master.Close() // a write to a full pty must not hold the pump
		<-inDone
	}()

	for {
		select {
		case <-winch:
			if w, h, ok := fdSize(); ok {
				_ = ResizePTY(master, w, h)
			}
		case sz := <-sizes:
			// TIOCSWINSZ on the master: the kernel sends the shell's
			// foreground process group SIGWINCH.
			_ = ResizePTY(master, sz[0], sz[1])
		case err := <-waited:
			// Nothing more is read for the shell once it has ended: what
			// is typed now stays for nslab (in the terminal's queue, or
			// in the handoff) instead of going to a pty nobody reads.
			stop()
			select {
			case <-outDone:
			case <-time.After(relayDrain):
			}
			return err
		case <-gone:
			f.hangUp(master, waited)
			return ErrTerminalGone
		case <-f.ctx.Done():
			f.hangUp(master, waited)
			return f.ctx.Err()
		}
	}
}

// hangUp closes the pty's master, which sends SIGHUP to the shell's
// session, and waits a moment for the shell to end before killing it.
func (f *FullScreenShell) hangUp(master *os.File, waited <-chan error) {
	master.Close()
	select {
	case <-waited:
	case <-time.After(relayHangup):
		_ = f.cmd.Process.Kill()
		<-waited
	}
}

// pumpInput copies nslab's terminal to the shell's pty until stop is
// called. A read from a terminal cannot be interrupted, so it polls the
// terminal together with a pipe that stop writes to. EOF or EIO on the
// terminal means it hung up: gone is signalled.
func (f *FullScreenShell) pumpInput(inFd int, master *os.File, gone chan<- struct{}) (stop func(), done <-chan struct{}, err error) {
	d := make(chan struct{})
	if inFd < 0 {
		// Not a terminal: a plain copy, which ends with the reader. An
		// input of the shell's own ends when stop closes it; any other
		// (a test's reader) is left to end on its own.
		go func() {
			defer close(d)
			_, _ = io.Copy(master, f.in)
		}()
		if f.own == nil {
			return func() {}, closedChan(), nil
		}
		var once sync.Once
		return func() { once.Do(func() { _ = f.own.Close() }) }, d, nil
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, nil, err
	}
	go func() {
		defer close(d)
		defer unix.Close(p[0])
		buf := make([]byte, relayBufSize)
		fds := []unix.PollFd{{Fd: int32(inFd), Events: unix.POLLIN}, {Fd: int32(p[0]), Events: unix.POLLIN}}
		for {
			fds[0].Revents, fds[1].Revents = 0, 0
			if _, err := unix.Poll(fds, -1); err != nil {
				if errors.Is(err, unix.EINTR) {
					continue
				}
				gone <- struct{}{}
				return
			}
			if fds[1].Revents != 0 {
				return
			}
			if fds[0].Revents == 0 {
				continue
			}
			n, err := unix.Read(inFd, buf)
			if errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN) {
				continue
			}
			if n <= 0 {
				gone <- struct{}{} // EOF or EIO: the terminal hung up
				return
			}
			if _, err := master.Write(buf[:n]); err != nil {
				return // the shell's pty is closed: Run is ending
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			_, _ = unix.Write(p[1], []byte{0})
			unix.Close(p[1])
		})
	}, d, nil
}

func closedChan() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}
