package common

import "sync"

// Window is the size of a served program's terminal (an SSH session's),
// which has no file descriptor to ask: RunProgram sets it from the
// session's window-change requests, and a full-screen shell watches it
// (sandbox.Window), since the program's event loop, which the shell
// blocks, cannot pass the sizes on meanwhile.
type Window struct {
	mu       sync.Mutex
	size     [2]int // [width, height]; zero until the first Set
	watchers map[chan [2]int]struct{}
}

// Set records the terminal's new size and tells every watcher.
func (w *Window) Set(width, height int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.size = [2]int{width, height}
	for c := range w.watchers {
		// Only Set sends, under mu: once the older size is dropped, the
		// buffer has room.
		select {
		case <-c:
		default:
		}
		c <- w.size
	}
}

// Watch returns the current size at once, if one was set, then each new
// one (a watcher that falls behind gets only the latest), until stop.
func (w *Window) Watch() (sizes <-chan [2]int, stop func()) {
	c := make(chan [2]int, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.size != ([2]int{}) {
		c <- w.size
	}
	if w.watchers == nil {
		w.watchers = make(map[chan [2]int]struct{})
	}
	w.watchers[c] = struct{}{}
	return c, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		delete(w.watchers, c)
	}
}
