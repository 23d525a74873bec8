// Package class is the state of a class served by `nslab serve`: one
// record per learner (where they are, how long they have been there, how
// their prediction, hints and challenge went, whether they are idle,
// connected or stuck), the instructor's notices to the learners
// (broadcast, follow, end a session), the file in the class's state
// directory that keeps it all, and its export as CSV, JSON and JUnit XML.
//
// It knows nothing of bubbletea: the ui reports Events and reads Notices.
// The control socket that `nslab class status` reads is package control.
package class

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/nslab/nslab/lessons"
)

// DefaultDir is the class's state directory unless --state-dir says
// otherwise.
const DefaultDir = "/var/lib/nslab/class"

// DefaultStuckAfter is how long on one part makes a learner stuck.
const DefaultStuckAfter = 10 * time.Minute

// Errors, for errors.Is.
var (
	// ErrNoLearner: no learner of that name is connected.
	ErrNoLearner = errors.New("no such learner connected")
	// ErrClosed: the class was closed.
	ErrClosed = errors.New("the class is closed")
)

// noticeBuffer is how many notices wait for a learner's program. A full
// buffer drops the oldest: the instructor never waits for a learner.
const noticeBuffer = 16

// Options tune Open.
type Options struct {
	// StuckAfter: this long on one part (not solved) marks a learner
	// stuck; 0 is DefaultStuckAfter.
	StuckAfter time.Duration
	// Now is the clock (tests fix it); nil is time.Now.
	Now func() time.Time
	// SaveEvery is the longest a change waits before it is written; 0 is
	// one second. Activity alone is written at this pace too.
	SaveEvery time.Duration
}

// Class is one class: every learner who joined since the state directory
// was made, connected or not. Its methods are safe for concurrent use.
type Class struct {
	dir  string
	opts Options

	mu      sync.Mutex
	state   State
	seats   map[string]*Seat // the connected learners
	dirty   bool
	closed  bool
	saveErr error

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

// Seat is one connected learner's place in the class.
type Seat struct {
	c       *Class
	name    string
	notices chan Notice
	ended   chan struct{} // closed by the first end
}

// Open opens the class kept in dir (created 0700 if missing), with every
// learner recorded there as disconnected, and starts writing its changes.
// Close writes the last ones.
func Open(dir string, opts Options) (*Class, error) {
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = DefaultStuckAfter
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SaveEvery <= 0 {
		opts.SaveEvery = time.Second
	}
	st, err := loadOrNew(dir)
	if err != nil {
		return nil, err
	}
	for _, r := range st.Learners {
		r.Connected = false
	}
	c := &Class{
		dir: dir, opts: opts, state: st, seats: map[string]*Seat{}, dirty: true,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
	// Written at once: the directory is writable, and an export works
	// from the first minute.
	if c.flush(); c.saveErr != nil {
		return nil, c.saveErr
	}
	go c.saver()
	return c, nil
}

// Dir is the class's state directory.
func (c *Class) Dir() string { return c.dir }

// Close writes the state a last time (every learner disconnected) and
// stops. It is idempotent.
func (c *Class) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closed = true
	for _, r := range c.state.Learners {
		r.Connected = false
	}
	c.dirty = true
	c.mu.Unlock()
	close(c.stop)
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saveErr
}

// Join seats a learner (a new record, or the one kept from an earlier
// session: a learner who reconnects keeps their record). A seat already
// held by that name is ended first, with a notice saying why. During
// follow mode the new seat's first notice is the current Follow.
func (c *Class) Join(name string) (*Seat, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	now := c.opts.Now()
	if old := c.seats[name]; old != nil {
		old.end("you joined the class again from another terminal")
	}
	r := c.state.Learners[name]
	if r == nil {
		r = &Record{Name: name, Joined: now, Lessons: map[string]*LessonRecord{}}
		c.state.Learners[name] = r
	}
	r.Connected, r.LastActive = true, now
	if r.PartSince.IsZero() {
		r.PartSince = now
	}
	s := &Seat{c: c, name: name, notices: make(chan Notice, noticeBuffer), ended: make(chan struct{})}
	c.seats[name] = s
	if f := c.state.Follow; f != nil {
		s.send(*f)
	}
	c.changed()
	return s, nil
}

// Name is the learner's name.
func (s *Seat) Name() string { return s.name }

// Notices is the instructor's notices to this learner's program.
func (s *Seat) Notices() <-chan Notice { return s.notices }

// Report records what the learner did. It never blocks on IO (the state
// is written in the background), so a program may call it from its event
// loop. An event for a seat that was replaced or left is dropped.
func (s *Seat) Report(e Event) {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seats[s.name] != s {
		return
	}
	if e.Time.IsZero() {
		e.Time = c.opts.Now()
	}
	if c.state.Learners[s.name].apply(e) {
		c.changed()
	} else {
		// Activity: written at the saver's pace with the next change,
		// not worth a wake-up of its own.
		c.dirty = true
	}
}

// Leave marks the learner disconnected (their record stays). A seat that
// was replaced by a new Join leaves nothing.
func (s *Seat) Leave() {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seats[s.name] != s {
		return
	}
	delete(c.seats, s.name)
	c.state.Learners[s.name].Connected = false
	c.changed()
}

// send queues n; a full queue drops its oldest notice. Called with c.mu
// held, so sends to one seat never race each other.
func (s *Seat) send(n Notice) {
	for {
		select {
		case s.notices <- n:
			return
		default:
		}
		select {
		case <-s.notices:
		default:
		}
	}
}

// end sends EndSession and marks the seat ended. c.mu held.
func (s *Seat) end(why string) {
	s.send(EndSession{Why: why})
	select {
	case <-s.ended:
	default:
		close(s.ended)
	}
}

// Ended is closed once the session was ended (by the instructor, the
// server stopping, or the learner joining again). The learner's program
// quits on its own a few seconds later; the server may cut it short after
// a grace period (a program busy with a full-screen shell reads no notice
// until the shell ends).
func (s *Seat) Ended() <-chan struct{} { return s.ended }

// Broadcast shows text on every connected learner's screen.
func (c *Class) Broadcast(text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.seats {
		s.send(Broadcast{Text: text})
	}
}

// Follow moves every learner, and everyone who joins later, to lesson and
// part until Unfollow.
func (c *Class) Follow(lesson string, part lessons.Part) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := Follow{Lesson: lesson, Part: part}
	c.state.Follow = &f
	for _, s := range c.seats {
		s.send(f)
	}
	c.changed()
}

// Unfollow ends follow mode.
func (c *Class) Unfollow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Follow == nil {
		return
	}
	c.state.Follow = nil
	for _, s := range c.seats {
		s.send(Unfollow{})
	}
	c.changed()
}

// Following is the lesson and part the class follows, if it does.
func (c *Class) Following() (Follow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Follow == nil {
		return Follow{}, false
	}
	return *c.state.Follow, true
}

// End ends one learner's session, telling them why.
func (c *Class) End(name, why string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.seats[name]
	if s == nil {
		return fmt.Errorf("ending %s's session: %w", name, ErrNoLearner)
	}
	s.end(why)
	return nil
}

// EndAll ends every session (the server is stopping).
func (c *Class) EndAll(why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.seats {
		s.end(why)
	}
}

// Rows is one row per learner, sorted by name, as of now.
func (c *Class) Rows() []Row {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.rows(c.opts.Now(), c.opts.StuckAfter)
}

// StuckAfter is how long on one part marks a learner stuck.
func (c *Class) StuckAfter() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opts.StuckAfter
}

// SetStuckAfter changes how long on one part marks a learner stuck (the
// instructor tunes it to the lesson); d ≤ 0 is DefaultStuckAfter.
func (c *Class) SetStuckAfter(d time.Duration) {
	if d <= 0 {
		d = DefaultStuckAfter
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.opts.StuckAfter = d
}

// Records is a copy of every learner's record, sorted by name.
func (c *Class) Records() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state.records()
}

// Err is the last error writing the state ("" when the last write worked).
func (c *Class) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saveErr
}

// changed marks the state to be written and wakes the saver. c.mu held.
func (c *Class) changed() {
	c.dirty = true
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// saver writes the state when it changed, at most once per SaveEvery, and
// a last time on Close.
func (c *Class) saver() {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			c.flush()
			return
		case <-c.wake:
		}
		c.flush()
		select {
		case <-c.stop:
			c.flush()
			return
		case <-time.After(c.opts.SaveEvery):
		}
	}
}

// flush writes the state if it changed, and keeps the outcome for Err.
// Only the saver calls it (and Open, before the saver starts), so writes
// never race each other; the file is written outside the lock, so that a
// slow disk never holds up a learner's Report.
func (c *Class) flush() {
	c.mu.Lock()
	if !c.dirty {
		c.mu.Unlock()
		return
	}
	data, err := c.state.marshal()
	c.dirty = false
	c.mu.Unlock()
	if err == nil {
		err = writeAtomic(statePath(c.dir), data)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saveErr = err
	if err != nil {
		c.dirty = true // tried again with the next change
	}
}

// rows computes the rows at now.
func (s *State) rows(now time.Time, stuckAfter time.Duration) []Row {
	rows := make([]Row, 0, len(s.Learners))
	for _, n := range slices.Sorted(maps.Keys(s.Learners)) {
		rows = append(rows, s.Learners[n].row(now, stuckAfter))
	}
	return rows
}

func (s *State) records() []Record {
	out := make([]Record, 0, len(s.Learners))
	for _, n := range slices.Sorted(maps.Keys(s.Learners)) {
		out = append(out, s.Learners[n].clone())
	}
	return out
}
