package time

import (
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// Finding 20: the shell is in the host's time namespace, and so is
	// a plain sleep; unshare --time puts the sleep in a third one.
	lessontest.Play(t, lessontest.Lesson(t, "time", Logic), lessontest.Want{Right: 1, Wrong: timeWrong("the host's time namespace")})
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "time", Logic), lessontest.Want{Right: 1,
		Wrong: timeWrong("the time namespace the class server started the sandbox in")})
}

// timeWrong are plausible wrong answers to the challenge: a plain sleep,
// which stays where the shell is (shellNS, as the check names it), and
// one in a time namespace of its own.
func timeWrong(shellNS string) []lessontest.Attempt {
	return []lessontest.Attempt{
		{Cmd: "sleep 1000 >/dev/null 2>&1 &", Says: shellNS},
		// The shell returns once unshare is started; until its child is
		// forked there is nothing in a namespace of its own to see, so the
		// attempt waits (bounded) for a sleep outside the shell's.
		{Cmd: "unshare --time --fork sleep 1000 >/dev/null 2>&1 & " + waitOwnSleep, Says: "a time namespace of its own"},
	}
}

// waitOwnSleep waits (at most 5 s) until the newest sleep is in another
// time namespace than the shell's.
const waitOwnSleep = `for i in $(seq 100); do s=$(pgrep -n -x sleep) && [ "$(readlink /proc/$s/ns/time)" != "$(readlink /proc/self/ns/time)" ] && break; sleep 0.05; done`

// TestConfinedFacts shows the facts a class learner's sandbox changes
// failing on wrong states: the agent in the host's time namespace, moved
// away from the one it started in, or a time_for_children that unshare
// did not change.
func TestConfinedFacts(t *testing.T) {
	host := sandbox.NSID{Dev: 4, Ino: 100}
	start := sandbox.NSID{Dev: 4, Ino: 200}
	child := sandbox.NSID{Dev: 4, Ino: 300}
	obs := func(startID, agent, forChildren sandbox.NSID) lessons.Observation {
		ex := map[string]string{timeForChildren: forChildren.Label("time")}
		lessons.PutIDs(ex, "", sandbox.IDs{timeStart: startID})
		return lessons.Observation{
			Host:    sandbox.Snapshot{IDs: sandbox.IDs{"time": host}},
			Sandbox: sandbox.Snapshot{IDs: sandbox.IDs{"time": agent, "time_for_children": forChildren}},
			Extra:   ex,
		}
	}
	facts := func(o lessons.Observation) (stayed, forChildren bool) {
		fs := timeFacts(o)
		return fs[0].OK, fs[1].OK
	}
	if stayed, fc := facts(obs(start, start, child)); !stayed || !fc {
		t.Fatalf("the class sandbox's right state: stayed %v, time_for_children %v", stayed, fc)
	}
	for name, c := range map[string]struct {
		o                   lessons.Observation
		stayed, forChildren bool
	}{
		"started in the host's":       {obs(host, host, child), false, true},
		"moved from where it started": {obs(start, child, child), false, false},
		"time_for_children not moved": {obs(start, start, start), true, false},
		"no start recorded":           {obs(sandbox.NSID{}, start, child), false, true},
	} {
		if stayed, fc := facts(c.o); stayed != c.stayed || fc != c.forChildren {
			t.Errorf("%s: stayed %v, time_for_children %v; want %v, %v", name, stayed, fc, c.stayed, c.forChildren)
		}
	}
}
