// Package classtest holds what tests of a class share: a clock they set,
// and a look at a seat's notices. Only tests import it.
package classtest

import (
	"sync"
	"time"

	"github.com/nslab/nslab/lessons/class"
)

// Notice is the next notice s has, waiting at most 100 ms (nil: none).
// A notice is sent as the class acts, so 100 ms only bounds a wait for
// one that is not coming.
func Notice(s *class.Seat) class.Notice {
	select {
	case n := <-s.Notices():
		return n
	case <-time.After(100 * time.Millisecond):
		return nil
	}
}

// Clock is a clock a test moves by hand (class.Options.Now = c.Now).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock is a clock at 2026-12-02 09:00 UTC.
func NewClock() *Clock { return &Clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
