package net

import (
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// The kernel's answer to the prediction is 1: lo, DOWN.
	sess, o := lessontest.Play(t, lessontest.Lesson(t, "net", Logic), lessontest.Want{Right: 1, Wrong: []lessontest.Attempt{
		// Turning the link off and on adds no route; a default route
		// through lo leads nowhere.
		{Cmd: "ip link set eth0 down; ip link set eth0 up; sleep 1", Says: "no route to the host's address"},
		{Cmd: "ip route add default dev lo", Says: "does not leave through eth0"},
	}})
	hostEnd := o.Extra[netHostEnd]
	if !strings.HasPrefix(hostEnd, "nslab") {
		t.Fatalf("host end of the veth %q", hostEnd)
	}
	if _, err := netlink.LinkByName(hostEnd); err != nil {
		t.Fatalf("the host end %s is not on the host while the lesson runs: %v", hostEnd, err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(hostEnd); err == nil {
		t.Errorf("veth end %s left on the host after Close", hostEnd)
	}
}

// The unsolved state must fail for the right reason: the fact helpers say
// what they saw even on an empty observation, and never pass on it.
func TestNetFactsEmptyObservation(t *testing.T) {
	for _, f := range netFacts(lessons.Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
	if right, _ := netAnswer(lessons.Observation{Extra: map[string]string{netFirstLinks: "lo UP"}}); right != 2 {
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

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the veth made by the server on the
// learner's behalf and said so, the challenge solved from the learner's
// shell; the host end gone when the sandbox closes.
func TestLessonConfined(t *testing.T) {
	lessontest.NeedRoot(t)
	hostBefore := sandboxtest.TakeHostPrint(t)
	sess, o := lessontest.PlayConfined(t, lessontest.Lesson(t, "net", Logic), lessontest.Want{Right: 1, Facts: 14, Wrong: []lessontest.Attempt{
		{Cmd: "ip link set eth0 down; ip link set eth0 up; sleep 1", Says: "no route to the host's address"},
		{Cmd: "ip route add default dev lo", Says: "does not leave through eth0"},
	}})
	hostEnd := o.Extra[netHostEnd]
	if _, err := netlink.LinkByName(hostEnd); err != nil {
		t.Fatalf("the host end %s is not on the host while the lesson runs: %v", hostEnd, err)
	}
	// The host compared now (the veth's end among its links) differs
	// from the host after the test: a leaked end would fail the test.
	if d := hostBefore.Diff(sandboxtest.TakeHostPrint(t)); !strings.Contains(d, " "+hostEnd+" ") {
		t.Errorf("the host print with the lesson's veth up does not show %s:\n%s", hostEnd, d)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(hostEnd); err == nil {
		t.Errorf("veth end %s left on the host after Close", hostEnd)
	}
	// What the server did on the learner's behalf is stated, and the
	// statement fails without the records.
	for _, drop := range []string{sandbox.HostOpVeth, sandbox.HostOpNoForward} {
		bent := o
		bent.OnBehalf = slices.DeleteFunc(slices.Clone(o.OnBehalf), func(op sandbox.HostOp) bool { return op.Op == drop })
		if f := behalfFact(t, bent); f.OK {
			t.Errorf("without the %q record the fact still holds: %s (%s)", drop, f.Text, f.Got)
		}
	}
	if f := behalfFact(t, o); !f.OK {
		t.Errorf("%s (got %s)", f.Text, f.Got)
	}
}

// behalfFact is the confined lesson's fact about the server's half.
func behalfFact(t *testing.T, o lessons.Observation) lessons.Fact {
	t.Helper()
	for _, f := range netFacts(o) {
		if strings.HasPrefix(f.Text, "The class server, root on the host,") {
			return f
		}
	}
	t.Fatal("no fact says what the class server did")
	return lessons.Fact{}
}
