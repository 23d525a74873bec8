package ipc

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// The kernel's answer to the prediction is 1: separate tables.
	sess, _ := lessontest.Play(t, lessontest.Lesson(t, "ipc", Logic), lessontest.Want{Right: 1, Wrong: ipcWrong})
	// The queue made inside must not be on the host, before or after the
	// challenge's mount.
	if on, err := sandbox.MQueueExists(ipcMQName); err != nil || on {
		t.Errorf("%s on the host: %v %v", ipcMQName, on, err)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
}

// ipcWrong are plausible wrong answers to the challenge, on any engine.
var ipcWrong = []lessontest.Attempt{
	{Cmd: "mount -t tmpfs mqueue /mnt && ls -l /mnt", Says: "is not listed inside"},
	{Cmd: "unshare --ipc mount -t mqueue mqueue /mnt && ls -l /mnt", Says: "is not listed inside"},
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "ipc", Logic), lessontest.Want{Right: 1, Wrong: ipcWrong})
}

func TestIPCFactsEmptyObservation(t *testing.T) {
	for _, f := range ipcFacts(lessons.Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}

func TestMqueueListing(t *testing.T) {
	cases := []struct {
		ipc  *sandbox.IPC
		want bool
	}{
		{nil, false},
		{&sandbox.IPC{MQueueNote: "no mqueue"}, false},
		{&sandbox.IPC{MQueues: []string{"/other"}}, false},
		{&sandbox.IPC{MQueues: []string{"/a", ipcMQName}}, true},
	}
	for _, c := range cases {
		if got, view := mqueueListing(sandbox.Snapshot{IPC: c.ipc}); got != c.want || view == "" {
			t.Errorf("%+v: %v %q", c.ipc, got, view)
		}
	}
}

// TestConfinedFacts shows the fact a class learner's sandbox adds failing
// on wrong states: the agent still in the IPC namespace the server
// started it in (whose mqueue mount lists its queues), a start in the
// host's, or no start recorded.
func TestConfinedFacts(t *testing.T) {
	host := sandbox.NSID{Dev: 4, Ino: 100}
	start := sandbox.NSID{Dev: 4, Ino: 200}
	agent := sandbox.NSID{Dev: 4, Ino: 300}
	fact := func(startID, now sandbox.NSID) lessons.Fact {
		t.Helper()
		ex := map[string]string{}
		lessons.PutIDs(ex, "", sandbox.IDs{ipcStart: startID})
		fs := ipcFacts(lessons.Observation{
			Host:    sandbox.Snapshot{IDs: sandbox.IDs{"ipc": host}},
			Sandbox: sandbox.Snapshot{IDs: sandbox.IDs{"ipc": now}},
			Extra:   ex,
		})
		f := fs[len(fs)-1]
		if !strings.HasPrefix(f.Text, "In a class") {
			t.Fatalf("the last fact is not the class one: %s", f.Text)
		}
		return f
	}
	if f := fact(start, agent); !f.OK {
		t.Errorf("right state: %s (%s)", f.Text, f.Got)
	}
	for name, f := range map[string]lessons.Fact{
		"still where it started": fact(start, start),
		"started in the host's":  fact(host, agent),
		"back in the host's":     fact(start, host),
		"no start recorded":      fact(sandbox.NSID{}, agent),
	} {
		if f.OK {
			t.Errorf("%s: %s holds (%s)", name, f.Text, f.Got)
		}
	}
	if fs := ipcFacts(lessons.Observation{Extra: map[string]string{}}); strings.HasPrefix(fs[len(fs)-1].Text, "In a class") {
		t.Error("outside a class the class fact is stated")
	}
}
