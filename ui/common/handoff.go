package common

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// ErrHandedOff ends the program's read of a Handoff while another reader
// holds it. It wraps io.EOF, which bubbletea's input reader takes as a
// quiet end of its read loop (RestoreTerminal starts a new one).
var ErrHandedOff = fmt.Errorf("input handed off: %w", io.EOF)

// handoffMax bounds what a Handoff holds unread: the source is not read
// further until a reader takes some.
const handoffMax = 64 << 10

// handoffAck bounds how long Take waits for the program's reader to come
// back for more after its last delivery.
const handoffAck = time.Second

// Handoff is the one reader of a terminal's input that is not a file (an
// SSH channel), shared by the program and a full-screen shell in turn.
// A read of an SSH channel cannot be cancelled: with two readers, the one
// that gave the terminal up stays blocked in its last read and swallows
// the first key typed for the other. Here a single goroutine reads the
// source, and every byte read is given to whichever side holds the input
// when it asks, never to a side that gave it up; bytes nobody has asked
// for yet wait for the next holder, as in a terminal's input queue.
//
// The program reads the Handoff itself (Read). Take gives the input to
// another reader until that reader is closed; meanwhile the program's
// reads end with ErrHandedOff.
type Handoff struct {
	src io.Reader

	mu      sync.Mutex
	changed *sync.Cond // buf, err, taken, delivered or waiting changed
	buf     []byte     // read from src, not yet given to a reader
	err     error      // src's error, once buf is empty
	taken   *taker     // nil: the program holds the input
	// delivered: the program's last Read returned bytes and it has not
	// asked again. bubbletea's reader drops what a Read returns if it
	// was cancelled meanwhile, so Take waits for the next ask, which
	// proves those bytes were kept.
	delivered bool
	started   bool
}

// NewHandoff shares src. Nothing is read from it before the first Read or
// Take.
func NewHandoff(src io.Reader) *Handoff {
	h := &Handoff{src: src}
	h.changed = sync.NewCond(&h.mu)
	return h
}

// startLocked starts the goroutine that reads src; it ends with src's
// first error (an SSH channel's EOF when the session ends).
func (h *Handoff) startLocked() {
	if h.started {
		return
	}
	h.started = true
	go func() {
		b := make([]byte, 4096)
		for {
			h.mu.Lock()
			for len(h.buf) >= handoffMax {
				h.changed.Wait()
			}
			h.mu.Unlock()
			n, err := h.src.Read(b)
			h.mu.Lock()
			h.buf = append(h.buf, b[:n]...)
			if err != nil {
				h.err = err
			}
			h.changed.Broadcast()
			h.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
}

// readLocked waits until there is something for mine to read, or it no
// longer holds the input (held false), and copies it to p.
func (h *Handoff) readLocked(p []byte, held func() bool) (int, error) {
	h.startLocked()
	for {
		switch {
		case !held():
			return 0, ErrHandedOff
		case len(h.buf) > 0:
			n := copy(p, h.buf)
			h.buf = h.buf[n:]
			h.changed.Broadcast() // the source may be read again
			return n, nil
		case h.err != nil:
			return 0, h.err
		}
		h.changed.Wait()
	}
}

// Read is the program's read: it waits for input while the program holds
// it, and ends with ErrHandedOff (consuming nothing) once it does not.
func (h *Handoff) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.delivered = false
	h.changed.Broadcast()
	n, err := h.readLocked(p, func() bool { return h.taken == nil })
	h.delivered = n > 0
	return n, err
}

// Take gives the input to a new reader until it is closed; the program's
// read ends at once with ErrHandedOff, and what it had not read goes to
// the new reader. Take returns once the program's reader has kept what
// it was last given (bounded by a second, and by ctx). A Take while
// another is held fails.
func (h *Handoff) Take(ctx context.Context) (io.ReadCloser, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.taken != nil {
		return nil, errors.New("the terminal's input is already handed off")
	}
	t := &taker{h: h}
	h.taken = t
	h.changed.Broadcast()
	if h.delivered {
		wake := time.AfterFunc(handoffAck, func() {
			h.mu.Lock()
			h.delivered = false
			h.changed.Broadcast()
			h.mu.Unlock()
		})
		defer wake.Stop()
		stop := context.AfterFunc(ctx, func() {
			h.mu.Lock()
			h.delivered = false
			h.changed.Broadcast()
			h.mu.Unlock()
		})
		defer stop()
		for h.delivered {
			h.changed.Wait()
		}
	}
	return t, nil
}

// taker is the input while Take's reader holds it.
type taker struct {
	h      *Handoff
	closed bool // under h.mu
}

// Read waits for input while t holds it; after Close it ends with io.EOF,
// consuming nothing.
func (t *taker) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	n, err := t.h.readLocked(p, func() bool { return !t.closed })
	if errors.Is(err, ErrHandedOff) {
		err = io.EOF
	}
	return n, err
}

// Close gives the input back to the program: a pending Read of t ends,
// and what was not read waits for the program.
func (t *taker) Close() error {
	t.h.mu.Lock()
	defer t.h.mu.Unlock()
	if !t.closed {
		t.closed = true
		if t.h.taken == t {
			t.h.taken = nil
		}
		t.h.changed.Broadcast()
	}
	return nil
}
