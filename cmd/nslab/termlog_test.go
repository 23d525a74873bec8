package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"
)

// termLog collects what a program writes to its terminal (a pty of ours,
// or an SSH session's output), for benchmarks that wait on the screen.
type termLog struct {
	mu   sync.Mutex
	out  bytes.Buffer
	more chan struct{} // something was written
	done chan struct{} // the output ended
}

// newTermLog reads r until it ends.
func newTermLog(r io.Reader) *termLog {
	t := &termLog{more: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		buf := make([]byte, 64*1024)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				t.mu.Lock()
				t.out.Write(buf[:n])
				t.mu.Unlock()
				select {
				case t.more <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return t
}

func (t *termLog) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out.Len()
}

// reset forgets what was written so far (offsets start again at 0), so
// that a long run keeps only what it still waits on.
func (t *termLog) reset() {
	t.mu.Lock()
	t.out.Reset()
	t.mu.Unlock()
}

func (t *termLog) tail(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.out.Bytes()
	return string(b[max(len(b)-n, 0):])
}

// wait waits until s appears in what was written after offset from; the
// error wraps errNoEcho when it timed out.
func (t *termLog) wait(from int, s string, d time.Duration) error {
	end := time.NewTimer(d)
	defer end.Stop()
	for {
		t.mu.Lock()
		ok := bytes.Contains(t.out.Bytes()[min(from, t.out.Len()):], []byte(s))
		t.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-t.more:
		case <-t.done:
			t.mu.Lock()
			ok := bytes.Contains(t.out.Bytes()[min(from, t.out.Len()):], []byte(s))
			t.mu.Unlock()
			if ok {
				return nil
			}
			return fmt.Errorf("the output ended before %q appeared; the last output: %q", s, t.tail(600))
		case <-end.C:
			return fmt.Errorf("%q did not appear within %s (%w); the last output: %q", s, d, errNoEcho, t.tail(600))
		}
	}
}
