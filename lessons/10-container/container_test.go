package container

import (
	"maps"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "container", Logic), lessontest.Want{Right: 0, Facts: 0, Wrong: []lessontest.Attempt{
		{Cmd: "unshare --mount sh -c 'mount -t tmpfs tmp /tmp && echo hello > /tmp/hello-from-container'", Says: "no tmpfs of the container's own"},
		// A tmpfs, but the host's: the file lands in the host's /dev/shm.
		{Cmd: "mount --bind /dev/shm /tmp && echo hello > /tmp/hello-from-container", Says: "is the host's /dev/shm, bound there",
			Undo: "rm /tmp/hello-from-container && umount /tmp"},
		{Cmd: "mount -t tmpfs tmp /tmp", Says: "no /tmp/hello-from-container in it yet"},
	}})
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// the container is cloned inside the class sandbox's own namespaces, the
// facts say so, and perform, the learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	_, o := lessontest.PlayConfined(t, lessontest.Lesson(t, "container", Logic), lessontest.Want{Right: 0, Facts: 9, Wrong: []lessontest.Attempt{
		{Cmd: "unshare --mount sh -c 'mount -t tmpfs tmp /tmp && echo hello > /tmp/hello-from-container'", Says: "no tmpfs of the container's own"},
		{Cmd: "mount -t tmpfs tmp /tmp", Says: "no /tmp/hello-from-container in it yet"},
	}})
	// The class facts fail on the wrong states they rule out.
	fact := func(o lessons.Observation, prefix string) lessons.Fact {
		t.Helper()
		for _, f := range containerFacts(o) {
			if strings.HasPrefix(f.Text, prefix) {
				return f
			}
		}
		t.Fatalf("no fact %q", prefix)
		return lessons.Fact{}
	}
	const noHost, oneMap = "in a class no namespace is the host's", "it is root inside a user namespace"
	if f := fact(o, noHost); !f.OK {
		t.Fatalf("%s: %s", f.Text, f.Got)
	}
	bent := o
	bent.Sandbox.IDs = maps.Clone(o.Sandbox.IDs)
	bent.Sandbox.IDs["time"] = o.Host.IDs["time"] // the kind the lesson leaves out, the host's
	if f := fact(bent, noHost); f.OK {
		t.Errorf("holds with the host's time namespace: %s", f.Got)
	}
	for name, m := range map[string]sandbox.IDMap{
		"one id, as unshare --map-root-user writes": {Inside: 0, Outside: 131072, Count: 1},
		"root outside":    {Inside: 0, Outside: 0, Count: 65536},
		"not root inside": {Inside: 1, Outside: 131072, Count: 65536},
	} {
		u := *o.Sandbox.User
		u.UIDMap = []sandbox.IDMap{m}
		bent := o
		bent.Sandbox.User = &u
		if f := fact(bent, oneMap); f.OK {
			t.Errorf("uid_map fact holds on %s: %s", name, f.Got)
		}
	}
}
