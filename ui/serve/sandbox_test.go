package serve

// Privileged tests: learners perform the uts lesson for real over SSH;
// every test compares the host before and after.

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/class"
	"github.com/nslab/nslab/sandbox/sandboxtest"
	"github.com/nslab/nslab/ui/serve/servetest"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: learners' sandboxes are real namespaces, and the host is compared")
	}
}

// newForeign is the processes in foreign namespaces in now and not in
// before: a learner's agents.
func newForeign(before, now sandboxtest.HostPrint) []string {
	var out []string
	for k := range now.Foreign {
		if _, ok := before.Foreign[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Killing one learner's client leaves none of their sandboxes after 2 s,
// and the other learner's untouched.
func TestClientKilledClosesSandboxes(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	var ev events
	s := startServer(t, Config{OnEvent: ev.add})

	ca := s.dial(t, "alice")
	servetest.Open(t, ca).PerformUTS()
	p1 := sandboxtest.TakeHostPrint(t)
	alices := newForeign(before, p1)
	b := servetest.Open(t, s.dial(t, "bob"))
	b.PerformUTS()
	bobs := newForeign(p1, sandboxtest.TakeHostPrint(t))
	if len(alices) == 0 || len(bobs) == 0 {
		t.Fatalf("no sandbox process seen: alice %v, bob %v", alices, bobs)
	}

	// The client vanishes: its connection closes with no SSH goodbye.
	killed := time.Now()
	ca.Close()
	var left []string
	for end := killed.Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		now := sandboxtest.TakeHostPrint(t)
		left = left[:0]
		for _, k := range alices {
			if _, ok := now.Foreign[k]; ok {
				left = append(left, k)
			}
		}
		if len(left) == 0 {
			for _, k := range bobs {
				if _, ok := now.Foreign[k]; !ok {
					t.Errorf("bob's sandbox process %s went with alice's client", k)
				}
			}
			break
		}
		if time.Now().After(end) {
			t.Fatalf("2 s after alice's client was killed her sandbox processes remain: %v", left)
		}
	}
	t.Logf("alice's sandboxes gone %v after her client was killed", time.Since(killed).Round(time.Millisecond))
	ev.waitFor(t, EventLeft, `name=alice .*connection closed`)

	// Bob is still served, then quits.
	b.Keys("\x03") // ctrl+c quits
	if out := b.WaitEnd(); !strings.Contains(out, "Bye, bob") {
		t.Errorf("bob's goodbye: %q", out)
	}
	sandboxtest.UnchangedSince(t, before)
}

// Shutdown (what SIGTERM does) tells every learner, closes every sandbox
// and leaves the host unchanged.
func TestShutdownTellsEveryLearner(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	var ev events
	cls := openClass(t)
	s := startServer(t, Config{OnEvent: ev.add, Class: cls})
	a := servetest.Open(t, s.dial(t, "alice"))
	b := servetest.Open(t, s.dial(t, "bob"))
	a.PerformUTS()
	b.PerformUTS()
	if len(newForeign(before, sandboxtest.TakeHostPrint(t))) == 0 {
		t.Fatal("no sandbox process seen")
	}
	waitRows(t, cls, "alice and bob at uts, perform", func(r class.Row) bool {
		return r.Connected && r.Lesson == "uts" && r.Part == lessons.PartPerform
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx, "the instructor stopped the class server"); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	t.Logf("shutdown with 2 learners took %v", time.Since(start).Round(time.Millisecond))
	for name, tm := range map[string]*servetest.Terminal{"alice": a, "bob": b} {
		out := tm.WaitEnd()
		if !strings.Contains(out, "the instructor stopped the class server") || !strings.Contains(out, "Your sandboxes are closed") {
			t.Errorf("%s was not told: %q", name, out[max(0, len(out)-400):])
		}
	}
	// Shutdown returned after every sandbox was closed: no waiting here
	// for the processes (the network namespace's teardown may lag).
	if left := newForeign(before, sandboxtest.TakeHostPrint(t)); len(left) != 0 {
		t.Errorf("sandbox processes left after Shutdown returned: %v", left)
	}
	if c, err := s.dialWith(dialOpts{name: "carol"}); err == nil {
		c.Close()
		t.Error("a learner connected after Shutdown")
	}
	waitRows(t, cls, "alice and bob disconnected", func(r class.Row) bool { return !r.Connected })
	sandboxtest.UnchangedSince(t, before)
}

// openClass opens a class in a temporary state directory, closed when the
// test ends.
func openClass(t *testing.T) *class.Class {
	t.Helper()
	cls, err := class.Open(t.TempDir(), class.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cls.Close() })
	return cls
}

// waitRows waits (bounded) until the class has alice and bob and every
// row satisfies ok.
func waitRows(t *testing.T, cls *class.Class, what string, ok func(class.Row) bool) {
	t.Helper()
	var rows []class.Row
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		rows = cls.Rows()
		if len(rows) == 2 && !slices.ContainsFunc(rows, func(r class.Row) bool { return !ok(r) }) {
			return
		}
	}
	t.Fatalf("the class does not show %s: %+v", what, rows)
}

// The instructor ends alice's session while she is in the full-screen
// shell, where her program reads no notice: the server cuts it short
// after the grace, closes her sandboxes and tells her; bob goes on.
func TestClassEndCutsShort(t *testing.T) {
	needRoot(t)
	before := sandboxtest.TakeHostPrint(t)
	cls := openClass(t)
	s := startServer(t, Config{Class: cls, EndGrace: time.Second})
	_, a := learnerIn(t, s, "alice")
	b := servetest.Open(t, s.dial(t, "bob"))
	b.PerformUTS()
	start := time.Now()
	if err := cls.End("alice", "the instructor ended it from the dashboard"); err != nil {
		t.Fatal(err)
	}
	out := a.WaitEnd()
	t.Logf("alice's session ended %v after the instructor ended it", time.Since(start).Round(time.Millisecond))
	if d := time.Since(start); d < time.Second {
		t.Errorf("cut short after %v, before the grace of 1 s", d)
	}
	if !strings.Contains(out, "the instructor ended your session") {
		t.Errorf("alice was not told: %q", out[max(0, len(out)-300):])
	}
	for _, r := range cls.Rows() {
		if r.Name == "bob" && !r.Connected {
			t.Error("bob's session ended with alice's")
		}
	}
	if n := len(uidProcs(recordedRange(t, s.state, "alice"))); n != 0 {
		t.Errorf("%d processes of alice's ids remain after her session was ended", n)
	}
	b.Keys("\x03")
	b.WaitEnd()
	sandboxtest.UnchangedSince(t, before)
}
