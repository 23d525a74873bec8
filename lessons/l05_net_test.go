package lessons

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nslab/nslab/sandbox"
)

// walkLesson plays lesson id for real as the tests of lessons 5–8 need it:
// Perform, Observe (every fact must hold), the challenge check false on the
// unsolved state, Solve, the check true. It returns the session (still
// open: the caller may look further, then closes it) and the observation.
func walkLesson(t *testing.T, eng *sandbox.Engine, id string) (*Session, Observation) {
	t.Helper()
	l, err := ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	sess := NewSession(eng, l, nil)
	t.Cleanup(func() { _ = sess.Close() })
	step := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(t.Context(), 20*time.Second)
	}
	ctx, cancel := step()
	defer cancel()
	if err := sess.Perform(ctx); err != nil {
		for _, e := range sess.Events() {
			t.Log(e.String(), e.Detail(), e.Note)
		}
		t.Fatalf("perform: %v", err)
	}
	o, err := sess.Observe(ctx)
	if err != nil {
		t.Fatalf("observe: %v", err)
	}
	facts := sess.Facts(o)
	if len(facts) == 0 {
		t.Fatal("the lesson states no facts")
	}
	for _, f := range facts {
		if !f.OK {
			t.Errorf("fact does not hold: %s (%s)", f.Text, f.Got)
		}
	}
	if t.Failed() {
		for _, e := range sess.Events() {
			t.Log(e.String(), e.Detail(), e.Note)
		}
		t.Logf("extra: %v", o.Extra)
	}
	p := l.Prediction
	if len(p.Choices) < 2 || p.Question == "" || l.Logic.Answer == nil {
		t.Fatalf("prediction incomplete: %+v", p)
	}
	right, why := l.Logic.Answer(o)
	if right < 0 || right >= len(p.Choices) || why == "" {
		t.Errorf("prediction answer %d (%q) is no choice", right, why)
	}

	ch := l.Challenge
	if ch.Task == "" || len(ch.Hints) == 0 || len(ch.Hints) > 3 || len(ch.Solution) == 0 || l.Logic.Check == nil {
		t.Fatalf("challenge incomplete: %+v", ch)
	}
	ok, detail, err := sess.Check(ctx)
	if err != nil {
		t.Fatalf("check before solving: %v", err)
	}
	if ok {
		t.Fatalf("the check passes on the unsolved state: %s", detail)
	}
	t.Logf("unsolved: %s", detail)
	if err := sess.Solve(ctx); err != nil {
		t.Fatalf("solve: %v", err)
	}
	ok, detail, err = sess.Check(ctx)
	if err != nil || !ok {
		t.Fatalf("check after solving: %v %v: %s", ok, err, detail)
	}
	t.Logf("solved: %s", detail)
	return sess, o
}

// headlessSolves runs lesson id through the headless runner with its
// reference solution: it must pass.
func headlessSolves(t *testing.T, eng *sandbox.Engine, id string) {
	t.Helper()
	l, err := ByID(id)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	res, err := RunHeadless(ctx, eng, l, RunOptions{Solve: true, Out: &out, StepTimeout: 20 * time.Second})
	if testing.Verbose() {
		t.Log(out.String())
	}
	if err != nil || !res.Passed {
		t.Fatalf("headless run of %s: passed=%v err=%v\n%s", id, res.Passed, err, out.String())
	}
}

func TestNetLesson(t *testing.T) {
	needRoot(t)
	defer hostUnchanged(t)()
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	sess, o := walkLesson(t, eng, "net")
	hostEnd := o.Extra[n5HostEnd]
	if !strings.HasPrefix(hostEnd, "nslab") {
		t.Fatalf("host end of the veth %q", hostEnd)
	}
	if _, err := netlink.LinkByName(hostEnd); err != nil {
		t.Fatalf("the host end %s is not on the host while the lesson runs: %v", hostEnd, err)
	}
	if right, _ := sess.Lesson().Logic.Answer(o); right != 1 {
		t.Errorf("the kernel's answer to the prediction is %d, want 1 (lo DOWN)", right)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(hostEnd); err == nil {
		t.Errorf("veth end %s left on the host after Close", hostEnd)
	}

	headlessSolves(t, eng, "net")
}

// The unsolved state must fail for the right reason: the fact helpers say
// what they saw even on an empty observation, and never pass on it.
func TestNetFactsEmptyObservation(t *testing.T) {
	for _, f := range netFacts(Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
	if right, _ := netAnswer(Observation{Extra: map[string]string{n5FirstLinks: "lo UP"}}); right != 2 {
		t.Errorf("answer for lo UP: %d", right)
	}
}

func TestRouteCovering(t *testing.T) {
	rs := []sandbox.Route{
		{Dst: "10.1.2.0/24", Dev: "eth0"},
		{Dst: "default", Gateway: "10.1.2.1", Dev: "eth0"},
		{Dst: "192.0.2.0/24", Dev: "eth1"},
		{Dst: "fe80::/64", Dev: "eth0"},
	}
	for _, c := range []struct{ ip, dst string }{
		{"192.0.2.7", "192.0.2.0/24"},
		{"10.1.2.9", "10.1.2.0/24"},
		{"8.8.8.8", "default"},
	} {
		r, ok := routeCovering(rs, c.ip)
		if !ok || r.Dst != c.dst {
			t.Errorf("route to %s: %v %v, want %s", c.ip, r, ok, c.dst)
		}
	}
	if _, ok := routeCovering(rs[:1], "8.8.8.8"); ok {
		t.Error("a /24 covers 8.8.8.8")
	}
}
