package shellpane

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/shelltrace"
	"github.com/nslab/nslab/ui/common"
)

// settle is how long the shell's output must pause before the page is
// told it settled (and refreshes the views): long enough that one
// command's output is one burst, short enough to feel immediate.
const settle = 40 * time.Millisecond

// scrollback is how many lines that left the top of the pane are kept.
const scrollback = 5000

// Term is one running shell: its pty, the terminal emulator that draws
// it, and the goroutines that own the IO. The Model only reads the
// emulator's screen under mu and hands keys to it; every read, write and
// ioctl on the pty happens in Term's goroutines.
type Term struct {
	mu  sync.Mutex
	emu *vt.Emulator

	pty    *os.File
	cmd    *exec.Cmd
	out    chan struct{} // cap 1: output arrived since the last OutputMsg
	resize chan [2]int   // cap 1: the newest size wins
	done   chan struct{} // closed when the shell exited and its pty is closed
	err    error         // the shell's exit, set before done closes
	// ptyClosed: readLoop closed the pty (under mu); no more ioctls.
	ptyClosed bool
	tracer    *shelltrace.Tracer // nil: untraced

	rows rowCache // under mu: the rows last drawn (lines)

	evMu   sync.Mutex
	events []sandbox.Event // the learner's traced calls
	once   sync.Once
}

// Msgs, each naming the Term it is about: a Term's messages arriving
// after the pane moved on to another are dropped.

// StartedMsg reports the shell started on its pty (or why not). Note is
// one line to show when it runs untraced.
type StartedMsg struct {
	Term *Term
	Note string
	Err  error
}

// OutputMsg says the shell wrote to its screen.
type OutputMsg struct{ Term *Term }

// SettledMsg says the shell's output paused after a burst: the command
// that wrote it is probably done, and the sandbox may have changed.
type SettledMsg struct{ Term *Term }

// ExitedMsg says the shell ended.
type ExitedMsg struct {
	Term *Term
	Err  error
}

// Start starts cmd on a new pty of w×h cells, its namespace syscalls
// traced (package shelltrace). The shell is a session leader (setsid)
// with the pty's slave as its controlling terminal (TIOCSCTTY), so its
// job control never reaches nslab's own terminal. The shell ends when
// ctx does (the program's end). trace is false only for a command that
// is not a sandbox's ShellCommand (tests): the tracer waits for the
// handshake only that command makes.
func Start(ctx context.Context, cmd *exec.Cmd, w, h int, trace bool) tea.Cmd {
	return func() tea.Msg {
		t, note, err := start(cmd, max(w, 1), max(h, 1), trace)
		if err == nil {
			go func() {
				select {
				case <-ctx.Done():
					_ = t.Close()
				case <-t.done:
				}
			}()
		}
		return StartedMsg{Term: t, Note: note, Err: err}
	}
}

func start(cmd *exec.Cmd, w, h int, trace bool) (*Term, string, error) {
	if cmd == nil {
		return nil, "", errors.New("no shell command")
	}
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// The emulator is an xterm-like terminal with 256 colours and true
	// colour: programs inside may use both.
	cmd.Env = append(cmd.Env, "TERM=xterm-256color", "COLORTERM=truecolor")
	// A session of its own on a pty of its own, the pty's slave its
	// controlling terminal (inside a joined PID namespace too: see
	// sandbox.PreparePTY). The command may come wired to nslab's own
	// terminal; the slave replaces that.
	ptmx, tty, err := sandbox.PreparePTY(cmd, w, h)
	if err != nil {
		return nil, "", fmt.Errorf("opening a pty for the shell: %w", err)
	}
	emu := vt.NewEmulator(w, h)
	emu.SetScrollbackSize(scrollback)
	t := &Term{
		emu: emu, pty: ptmx, cmd: cmd,
		out: make(chan struct{}, 1), resize: make(chan [2]int, 1), done: make(chan struct{}),
	}
	note := ""
	var tracer *shelltrace.Tracer
	if trace {
		tracer, err = shelltrace.Start(cmd, t.learnerEvent)
	} else {
		err = cmd.Start()
	}
	_ = tty.Close() // the child has it; the master sees EIO once all holders exit
	switch {
	case errors.Is(err, shelltrace.ErrUnavailable):
		note = "your own syscalls are not traced here: " + err.Error()
	case err != nil:
		_ = ptmx.Close()
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return nil, "", fmt.Errorf("starting the shell: %w", err)
	}
	t.tracer = tracer
	go t.readLoop()
	go t.inputLoop()
	go t.resizeLoop()
	return t, note, nil
}

// learnerEvent keeps one of the learner's traced calls; it runs on the
// tracer's goroutine and must not block.
func (t *Term) learnerEvent(e sandbox.Event) {
	t.evMu.Lock()
	t.events = append(t.events, e)
	t.evMu.Unlock()
	select {
	case t.out <- struct{}{}:
	default:
	}
}

// Events is the learner's traced calls so far.
func (t *Term) Events() []sandbox.Event {
	if t == nil {
		return nil
	}
	t.evMu.Lock()
	defer t.evMu.Unlock()
	return slices.Clone(t.events)
}

// readLoop copies the shell's output into the emulator until the pty
// ends (EIO once the last process holding the slave exited), then reaps
// the shell.
func (t *Term) readLoop() {
	buf := make([]byte, 32*1024)
	for {
		n, err := t.pty.Read(buf)
		if n > 0 {
			t.mu.Lock()
			_, _ = t.emu.Write(buf[:n])
			t.mu.Unlock()
			select {
			case t.out <- struct{}{}:
			default:
			}
		}
		if err != nil {
			break
		}
	}
	werr := t.cmd.Wait()
	t.mu.Lock()
	t.err = werr
	// Closing the emulator's input pipe ends inputLoop (EOF), and later
	// keys fail at once instead of waiting for a reader. Not emu.Close:
	// it writes a flag the blocked Read has read unlocked.
	if pw, ok := t.emu.InputPipe().(io.Closer); ok {
		_ = pw.Close()
	}
	_ = t.pty.Close()
	t.ptyClosed = true
	t.mu.Unlock()
	close(t.done)
}

// inputLoop copies what the emulator sends — the learner's keys encoded
// for the shell's current modes, and the answers to the shell's queries
// (cursor position, device attributes) — to the pty.
//
// The emulator's pipe is synchronous: SendKey, called from Update, returns
// only once this loop took the bytes. So this loop never waits on the pty
// (a shell that does not read would freeze the screen): it queues, and
// writeLoop writes.
func (t *Term) inputLoop() {
	q := make(chan []byte, 1024)
	defer close(q)
	go func() {
		for b := range q {
			// After the shell ended writes fail; the queue still drains.
			_, _ = t.pty.Write(b)
		}
	}()
	buf := make([]byte, 4096)
	for {
		n, err := t.emu.Read(buf)
		if n > 0 {
			q <- append([]byte(nil), buf[:n]...)
		}
		if err != nil {
			return
		}
	}
}

// resizeLoop applies sizes to the emulator and the pty (TIOCSWINSZ, which
// sends the shell's foreground group SIGWINCH).
func (t *Term) resizeLoop() {
	for {
		select {
		case <-t.done:
			return
		case sz := <-t.resize:
			t.mu.Lock()
			t.emu.Resize(sz[0], sz[1])
			if !t.ptyClosed {
				_ = sandbox.ResizePTY(t.pty, sz[0], sz[1])
			}
			t.mu.Unlock()
			select {
			case t.out <- struct{}{}:
			default:
			}
		}
	}
}

// Resize asks for a new size; it never blocks.
func (t *Term) Resize(w, h int) {
	if t == nil {
		return
	}
	sz := [2]int{max(w, 1), max(h, 1)}
	if t.pty == nil { // a Fake: no pty to tell
		t.mu.Lock()
		t.emu.Resize(sz[0], sz[1])
		t.mu.Unlock()
		return
	}
	for {
		select {
		case t.resize <- sz:
			return
		default:
		}
		select {
		case <-t.resize: // drop the older size
		default:
		}
	}
}

// send hands a key to the emulator, which encodes it for the shell.
func (t *Term) send(k uv.KeyEvent) {
	t.mu.Lock()
	closed := t.emuClosed()
	t.mu.Unlock()
	if closed {
		return
	}
	// SendKey writes to the emulator's input pipe, which inputLoop drains:
	// it must not hold mu (readLoop may be writing an answer through the
	// same pipe under mu).
	t.emu.SendKey(k)
}

func (t *Term) paste(s string) {
	t.mu.Lock()
	closed := t.emuClosed()
	t.mu.Unlock()
	if !closed {
		t.emu.Paste(s)
	}
}

func (t *Term) emuClosed() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// Wait is the Cmd that waits for the shell's next event: output, the
// output settling (only after output, dirty), or the end.
func (t *Term) Wait(dirty bool) tea.Cmd {
	return func() tea.Msg {
		var settled <-chan time.Time
		if dirty {
			tm := time.NewTimer(settle)
			defer tm.Stop()
			settled = tm.C
		}
		select {
		case <-t.out:
			return OutputMsg{Term: t}
		case <-settled:
			return SettledMsg{Term: t}
		case <-t.done:
			// Output that arrived with the end is drawn first.
			select {
			case <-t.out:
				return OutputMsg{Term: t}
			default:
			}
			return ExitedMsg{Term: t, Err: t.exitErr()}
		}
	}
}

func (t *Term) exitErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Close ends the shell: closing the pty's master hangs up its session
// (SIGHUP to the shell), and the process is killed if it ignores that.
// It waits at most 2 s for the end.
func (t *Term) Close() error {
	if t == nil {
		return nil
	}
	t.once.Do(func() {
		if t.cmd.Process != nil {
			_ = t.cmd.Process.Signal(syscall.SIGHUP)
		}
	})
	select {
	case <-t.done:
		return nil
	case <-time.After(time.Second):
	}
	if t.cmd.Process != nil {
		_ = t.cmd.Process.Kill()
	}
	select {
	case <-t.done:
		return nil
	case <-time.After(time.Second):
		// A grandchild still holds the slave open: closing the master
		// ends the read with EIO.
		_ = t.pty.Close()
		<-t.done
		return nil
	}
}

// CloseCmd closes t from a Cmd.
func CloseCmd(t *Term) tea.Cmd {
	return func() tea.Msg {
		_ = t.Close()
		return nil
	}
}

// lines draws the screen, with off lines of scrollback above it, each
// line fitted to fit cells (cut, then padded), the cursor shown when
// cursor is set.
//
// A row whose cells (cursor included) are those of the last draw at the
// same fit is not drawn again: drawing and measuring a line is most of a
// frame's cost, and a keystroke's echo changes one row.
func (t *Term) lines(off int, cursor bool, fit int) (out []string, sbLen int, alt bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.emu
	w, h := e.Width(), e.Height()
	alt = e.IsAltScreen()
	var sb []uv.Line
	if !alt {
		if s := e.Scrollback(); s != nil {
			sb = s.Lines()
		}
	}
	sbLen = len(sb)
	off = min(max(off, 0), sbLen)
	cur := e.CursorPosition()
	showCur := cursor && off == 0 && !e.CursorHidden()
	if t.rows.fit != fit || len(t.rows.keys) != h {
		t.rows = rowCache{fit: fit, keys: make([][]byte, h), out: make([]string, h)}
	}
	out = make([]string, 0, h)
	for i := range h {
		row := i - off // < 0: a scrollback line
		if row < 0 {
			out = append(out, fitLine(sb[sbLen+row].Render(), fit))
			continue
		}
		curX := -1
		if showCur && row == cur.Y && cur.X >= 0 && cur.X < w {
			curX = cur.X
		}
		if !t.rows.same(i, e, row, w, curX) {
			line := slices.Grow(t.rows.line[:0], w)[:w]
			for x := range w {
				line[x] = cellAt(e, x, row, curX)
			}
			t.rows.line = line
			t.rows.out[i] = fitLine(line.Render(), fit)
		}
		out = append(out, t.rows.out[i])
	}
	return out, sbLen, alt
}

// rowCache is the pane's rows as last drawn: each row's cells, encoded
// (rowKey), and its line fitted to fit cells. A row is reused only when its
// cells are equal, whatever row of the screen they came from.
//
// The cells are kept encoded, not as uv.Cells: a uv.Cell is 112 bytes
// holding pointers (its content, three colours, a link), so a copy of the
// screen's cells was about 0.2 MB a learner that every garbage
// collection scanned; the encoding is a few bytes a cell and has none.
type rowCache struct {
	fit  int
	keys [][]byte // nil: not drawn yet, or cells rowKey cannot encode
	out  []string
	key  []byte  // scratch: the row being compared
	line uv.Line // scratch: the row being drawn
}

// same reports whether output row i was drawn from the cells the
// emulator has now on its row row (the cursor, if on it, at curX). When
// they differ it keeps their encoding as the row's, for the next frame.
func (rc *rowCache) same(i int, e *vt.Emulator, row, w, curX int) bool {
	key, ok := rowKey(rc.key[:0], e, row, w, curX)
	rc.key = key
	if !ok {
		rc.keys[i] = nil
		return false
	}
	if rc.keys[i] != nil && bytes.Equal(rc.keys[i], key) {
		return true
	}
	rc.keys[i] = append(rc.keys[i][:0], key...)
	return false
}

// rowKey appends to b an encoding of the w cells shown on the emulator's
// row row (cellAt): two rows have the same encoding only if their cells
// are equal (==). ok is false for a colour of a type it does not know;
// such a row is drawn at every frame.
func rowKey(b []byte, e *vt.Emulator, row, w, curX int) (_ []byte, ok bool) {
	for x := range w {
		c := e.CellAt(x, row)
		if x == curX {
			cc := cellAt(e, x, row, curX)
			c = &cc
		} else if c == nil {
			c = &uv.EmptyCell
		}
		b = appendString(b, c.Content)
		b = binary.AppendVarint(b, int64(c.Width))
		b = append(b, c.Style.Underline, c.Style.Attrs)
		if b, ok = appendColor(b, c.Style.Fg); !ok {
			return b, false
		}
		if b, ok = appendColor(b, c.Style.Bg); !ok {
			return b, false
		}
		if b, ok = appendColor(b, c.Style.UnderlineColor); !ok {
			return b, false
		}
		b = appendString(appendString(b, c.Link.URL), c.Link.Params)
	}
	return b, true
}

// appendString appends s, its length first.
func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// appendColor appends c, its kind first: the kinds the emulator's
// SGR parsing makes; ok is false for any other.
func appendColor(b []byte, c color.Color) (_ []byte, ok bool) {
	switch c := c.(type) {
	case nil:
		return append(b, 0), true
	case ansi.BasicColor:
		return append(b, 1, byte(c)), true
	case ansi.IndexedColor:
		return append(b, 2, byte(c)), true
	case color.RGBA:
		return append(b, 3, c.R, c.G, c.B, c.A), true
	}
	return b, false
}

// cellAt is the cell shown at x on the emulator's row row: reversed where
// the cursor is (curX; -1 when not on this row).
func cellAt(e *vt.Emulator, x, row, curX int) uv.Cell {
	c := uv.EmptyCell
	if p := e.CellAt(x, row); p != nil {
		c = *p
	}
	if x == curX {
		if c.IsZero() || c.Content == "" {
			c = uv.EmptyCell
		}
		c.Style.Attrs ^= uv.AttrReverse
	}
	return c
}

// fitLine cuts a drawn line to w cells and pads it to them.
func fitLine(l string, w int) string { return common.Pad(common.Truncate(l, w), w) }

// Feed writes s to the emulator as if the shell had written it, and
// says so (OutputMsg) as readLoop does: a Fake's screen changes (tests and
// benchmarks of a keystroke's echo).
func (t *Term) Feed(s string) {
	t.mu.Lock()
	_, _ = t.emu.WriteString(s)
	t.mu.Unlock()
	select {
	case t.out <- struct{}{}:
	default:
	}
}

// Fake is a Term with no shell: an emulator of w×h that has drawn screen
// (text with escape sequences, as a shell writes it). Goldens of screens
// with the pane open use it, so that no prompt or host name varies.
func Fake(w, h int, screen string) *Term {
	emu := vt.NewEmulator(w, h)
	_, _ = emu.WriteString(screen)
	return &Term{emu: emu, out: make(chan struct{}, 1), resize: make(chan [2]int, 1), done: make(chan struct{})}
}
