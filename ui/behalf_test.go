package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/nslab/nslab/lessons"
	netlesson "github.com/nslab/nslab/lessons/05-net"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/ui/internal/uitest"
	"github.com/nslab/nslab/ui/pages/lesson"
)

// classNote is a confined engine's note as sandbox.Engine.ConfinementNote
// words it.
const classNote = "the class server starts each of your sandboxes in new mnt, uts, ipc, user, pid, net, cgroup, time namespaces; root inside is uid 131072 outside, which no one else has; your processes share a cgroup (at most 256 processes, 512 MiB, CPU weight 100) and RLIMIT_NPROC 512"

// classOps are what a confined engine records for the net lesson.
func classOps() []sandbox.HostOp {
	return []sandbox.HostOp{
		{Time: uitest.FixedTime, Op: sandbox.HostOpCgroup, Object: "/sys/fs/cgroup/nslab-learner-alice",
			Text: "moved your sandbox's first process (host PID 4242) into your cgroup /sys/fs/cgroup/nslab-learner-alice (at most 256 processes, 512 MiB)"},
		{Time: uitest.FixedTime, Op: sandbox.HostOpVeth, Object: "nslab4242",
			Text: "created the veth pair nslab4242 and eth0: nslab4242 on the host, with address 10.200.3.1/24 and up; its peer eth0 made directly in your network namespace net:[4026532331]"},
	}
}

func classSession(s *uitest.Session) {
	s.Confinement = classNote
	o := uitest.Observation(5, 6)
	o.OnBehalf = classOps()
	s.SetObservation(o)
}

// collapse makes every run of white space one space: wrapped text
// compared with the text it wraps.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestGoldenClassLearner: a class learner's Perform part lists what the
// server did on the host for the lesson, and i opens the whole account
// with the engine's note; i goes back.
func TestGoldenClassLearner(t *testing.T) {
	h := newHarness(t, 120, 40, nil, withSessionHook(classSession))
	h.keys("j", "enter", "n", "n")
	h.waitFor("[PERFORM]")
	h.waitFor("i: how the class server confines you") // before perform: the key to the account
	h.keys("enter")
	h.until("observed", observed)
	h.untilScreen("the account", shows("On your behalf, the class server"))
	h.spy.mu.Lock()
	perform := h.spy.screen
	h.spy.mu.Unlock()
	checkScreen(t, perform, 120, 40)
	for _, op := range classOps() {
		if !strings.Contains(collapse(perform), op.Object) {
			t.Errorf("the Perform part does not name %s (%s):\n%s", op.Object, op.Op, perform)
		}
	}
	golden.RequireEqual(t, []byte(perform))

	h.keys("i")
	h.waitFor("How the class server confines you")
	h.spy.mu.Lock()
	panel := h.spy.screen
	h.spy.mu.Unlock()
	checkScreen(t, panel, 120, 40)
	t.Run("account", func(t *testing.T) { golden.RequireEqual(t, []byte(panel)) })
	for _, want := range append([]string{classNote}, classOps()[0].Text, classOps()[1].Text) {
		if !strings.Contains(collapse(panel), collapse(want)) {
			t.Errorf("the account lacks %q:\n%s", want, panel)
		}
	}
	h.keys("i")
	h.untilScreen("back to the lesson", shows("[PERFORM]"))
	_, final := h.final()
	if strings.Contains(final, "How the class server confines you") {
		t.Errorf("i did not close the account:\n%s", final)
	}
}

// TestNoClassNoAccount: outside a class there is nothing to tell, and i
// opens nothing.
func TestNoClassNoAccount(t *testing.T) {
	h := newHarness(t, 120, 40, nil, withSessionHook(func(s *uitest.Session) {
		o := uitest.Observation(5, 6)
		o.OnBehalf = classOps() // an ordinary root engine records its veth too
		s.SetObservation(o)
	}))
	h.keys("j", "enter", "n", "n", "enter")
	h.until("observed", observed)
	h.keys("i")
	_, screen := h.final()
	for _, no := range []string{"On your behalf", "class server", "How the class server confines you"} {
		if strings.Contains(screen, no) {
			t.Errorf("outside a class the screen shows %q:\n%s", no, screen)
		}
	}
}

// TestConfinedLearnerSeesWhatServerDid plays the net lesson's Perform on
// a confined engine (as nslab serve gives a learner) through the ui: the
// account shows the engine's own note and every operation the engine
// recorded for the lesson, the veth among them.
func TestConfinedLearnerSeesWhatServerDid(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	eng := lessontest.ConfinedEngine(t, "learner")
	l := lessontest.Lesson(t, "net", netlesson.Logic)
	var sess *lessons.Session
	h := newHarness(t, 120, 60, nil, func(c *appConfig, h *harness) {
		c.lessons = []lessons.Lesson{l}
		c.locks = nil
		c.newSession = func(l lessons.Lesson) lesson.Session {
			sess = lessons.NewSession(eng, l, nil)
			return sess
		}
	})
	h.keys("enter", "n", "n")
	h.waitFor("[PERFORM]")
	h.keys("enter")
	h.until("observed", observed)
	h.keys("i")
	h.waitFor("How the class server confines you")
	h.spy.mu.Lock()
	panel := h.spy.screen
	h.spy.mu.Unlock()
	_, _ = h.final()
	if !strings.Contains(collapse(panel), collapse(eng.ConfinementNote())) {
		t.Errorf("the account lacks the engine's note %q:\n%s", eng.ConfinementNote(), panel)
	}
	ops := sess.HostOps()
	kinds := map[string]bool{}
	for _, op := range ops {
		kinds[op.Op] = true
		if !strings.Contains(collapse(panel), collapse(op.Text)) {
			t.Errorf("the account lacks what the engine did (%s): %q\n%s", op.Op, op.Text, panel)
		}
	}
	for _, k := range []string{sandbox.HostOpIDMaps, sandbox.HostOpCgroup, sandbox.HostOpNProc, sandbox.HostOpVeth, sandbox.HostOpNoForward} {
		if !kinds[k] {
			t.Errorf("the engine recorded no %q operation for the net lesson: %+v", k, ops)
		}
	}
	if err := sess.Close(); err != nil {
		t.Error(err)
	}
}
