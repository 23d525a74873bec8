package common

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// read is one Read's outcome.
type read struct {
	s   string
	err error
}

// goRead starts a Read of r and returns where its outcome comes.
func goRead(r io.Reader) <-chan read {
	c := make(chan read, 1)
	go func() {
		b := make([]byte, 64)
		n, err := r.Read(b)
		c <- read{string(b[:n]), err}
	}()
	return c
}

func wait(t *testing.T, what string, c <-chan read) read {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: the read did not return", what)
		return read{}
	}
}

func pending(t *testing.T, what string, c <-chan read) {
	t.Helper()
	select {
	case r := <-c:
		t.Fatalf("%s: the read returned %q, %v; want it still waiting", what, r.s, r.err)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestHandoffSwitches: a pending read of the side that gives the input
// up ends without consuming anything, and every byte goes to the side
// that holds the input, in order, at each switch.
func TestHandoffSwitches(t *testing.T) {
	src, w := io.Pipe()
	defer w.Close()
	h := NewHandoff(src)
	ctx := context.Background()

	prog := goRead(h)
	_, _ = w.Write([]byte("a"))
	if r := wait(t, "program", prog); r.s != "a" || r.err != nil {
		t.Fatalf("program read %q, %v; want a", r.s, r.err)
	}

	// The program asks again, then the shell takes the input while that
	// read waits: it ends with ErrHandedOff, and the next key is the
	// shell's.
	prog = goRead(h)
	pending(t, "program before Take", prog)
	sh, err := h.Take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := wait(t, "program after Take", prog); r.s != "" || !errors.Is(r.err, ErrHandedOff) || !errors.Is(r.err, io.EOF) {
		t.Fatalf("program read %q, %v after Take; want nothing, ErrHandedOff (an EOF)", r.s, r.err)
	}
	if r := wait(t, "program while taken", goRead(h)); r.s != "" || !errors.Is(r.err, ErrHandedOff) {
		t.Fatalf("program read %q, %v while taken", r.s, r.err)
	}
	if _, err := h.Take(ctx); err == nil {
		t.Error("a second Take succeeded while the first holds the input")
	}
	shr := goRead(sh)
	_, _ = w.Write([]byte("b"))
	if r := wait(t, "shell", shr); r.s != "b" || r.err != nil {
		t.Fatalf("shell read %q, %v; want b", r.s, r.err)
	}

	// The shell gives it back while its read waits: that read ends with
	// EOF, and the next keys are the program's.
	shr = goRead(sh)
	pending(t, "shell before Close", shr)
	_ = sh.Close()
	if r := wait(t, "shell after Close", shr); r.s != "" || r.err != io.EOF {
		t.Fatalf("shell read %q, %v after Close; want nothing, EOF", r.s, r.err)
	}
	_, _ = w.Write([]byte("cd"))
	if r := wait(t, "program after Close", goRead(h)); r.s != "cd" || r.err != nil {
		t.Fatalf("program read %q, %v after the shell; want cd", r.s, r.err)
	}

	// Bytes nobody asked for yet go to the next holder, as typed-ahead
	// keys do in a terminal's queue.
	_, _ = w.Write([]byte("e"))
	sh, err = h.Take(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := wait(t, "shell, typed ahead", goRead(sh)); r.s != "e" {
		t.Fatalf("shell read %q, %v; want the typed-ahead e", r.s, r.err)
	}
	_ = sh.Close()

	// The source's end reaches the holder.
	_ = w.Close()
	if r := wait(t, "program at the end", goRead(h)); r.err != io.EOF {
		t.Fatalf("program read %q, %v at the source's end; want EOF", r.s, r.err)
	}
}

// TestHandoffTakeWaitsForTheProgram: Take returns only once the program's
// reader has come back after its last delivery (bubbletea drops what a
// read returned if it was cancelled in between), or after a bound.
func TestHandoffTakeWaitsForTheProgram(t *testing.T) {
	src, w := io.Pipe()
	defer w.Close()
	h := NewHandoff(src)
	prog := goRead(h)
	_, _ = w.Write([]byte("x"))
	wait(t, "program", prog)
	took := make(chan error, 1)
	go func() {
		sh, err := h.Take(context.Background())
		if err == nil {
			defer sh.Close()
		}
		took <- err
	}()
	select {
	case <-took:
		t.Fatal("Take returned while the program had not come back for more")
	case <-time.After(100 * time.Millisecond):
	}
	if r := wait(t, "program's next read", goRead(h)); !errors.Is(r.err, ErrHandedOff) {
		t.Fatalf("program's next read %q, %v; want ErrHandedOff", r.s, r.err)
	}
	select {
	case err := <-took:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Take did not return once the program came back")
	}

	// A program that never comes back does not hold Take for ever.
	src2, w2 := io.Pipe()
	defer w2.Close()
	h2 := NewHandoff(src2)
	prog = goRead(h2)
	_, _ = w2.Write([]byte("y"))
	wait(t, "program", prog)
	start := time.Now()
	sh, err := h2.Take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = sh.Close()
	if d := time.Since(start); d < handoffAck/2 || d > 5*handoffAck {
		t.Errorf("Take took %v with no reader coming back; want about %v", d, handoffAck)
	}
}
