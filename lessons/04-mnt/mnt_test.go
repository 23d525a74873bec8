package mnt

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "mnt", Logic), lessontest.Want{Right: 1, Facts: 8, Wrong: mntWrong(
		// A tmpfs, but the host's: the host sees whatever is written there.
		lessontest.Attempt{Cmd: "mount --bind /dev/shm /tmp", Says: "is the host's /dev/shm, bound there", Undo: "umount /tmp"},
	)})
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// every namespace new from the start, the facts say so, and perform, the
// learner's shell and the challenge work.
func TestLessonConfined(t *testing.T) {
	lessontest.PlayConfined(t, lessontest.Lesson(t, "mnt", Logic), lessontest.Want{Right: 1, Facts: 8, Wrong: mntWrong(
		// In a class /dev/shm is a directory of the sandbox's own root
		// tmpfs: bound on /tmp it is that tmpfs again, not a new one.
		lessontest.Attempt{Cmd: "mount --bind /dev/shm /tmp", Says: "already mounted at / inside", Undo: "umount /tmp"},
	)})
}

// mntWrong are plausible wrong answers to the challenge: two on any
// engine, then more.
func mntWrong(more ...lessontest.Attempt) []lessontest.Attempt {
	return append([]lessontest.Attempt{
		{Cmd: "mount -t tmpfs tmpfs /mnt", Says: "no new mount at /tmp"},
		{Cmd: "unshare --mount mount -t tmpfs tmpfs /tmp", Says: "no new mount at /tmp"},
	}, more...)
}

// TestConfinedFacts shows the facts a class learner's sandbox changes
// failing on wrong states: the root fact when / inside is the host's or
// not a tmpfs, and the private fact when the tmpfs did reach /opt, which
// in a class already had the server's read-only bind.
func TestConfinedFacts(t *testing.T) {
	m := func(point, fstype, source, prop string) sandbox.Mount {
		return sandbox.Mount{Mountpoint: point, FSType: fstype, Source: source, Propagation: prop}
	}
	hostRoot := m("/", "ext4", "/dev/vda1", "shared:1")
	obs := func(root sandbox.Mount, opt int) lessons.Observation {
		box := []sandbox.Mount{root, m("/opt", "ext4", "/dev/vda1", "private")}
		for range opt {
			box = append(box, m("/opt", "tmpfs", "tmpfs", "private"))
		}
		box = append(box, m("/media", "tmpfs", "tmpfs", "private"), m("/media", "tmpfs", "tmpfs", "private"))
		host := []sandbox.Mount{hostRoot, m("/usr", "ext4", "/dev/vda2", "shared:2")}
		ex := map[string]string{mntConfined: "true"}
		for _, p := range mntPoints() {
			ex[mntBoxCounts+p] = "0"
		}
		ex[mntBoxCounts+mntPrivCopy] = "1"
		mv := []sandbox.View{sandbox.ViewMount}
		hs, bs := sandbox.Snapshot{Views: mv, Mounts: host}, sandbox.Snapshot{Views: mv, Mounts: box}
		return lessons.Observation{Host: hs, Sandbox: bs, Diffs: sandbox.DiffAll(hs, bs), Extra: ex}
	}
	find := func(fs []lessons.Fact, prefix string) lessons.Fact {
		t.Helper()
		for _, f := range fs {
			if strings.HasPrefix(f.Text, prefix) {
				return f
			}
		}
		t.Fatalf("no fact %q", prefix)
		return lessons.Fact{}
	}
	const rootFact, privFact = "In a class its table started", "On a private mount"
	good := mntFacts(obs(m("/", "tmpfs", "nslab", "private"), 1))
	if f := find(good, rootFact); !f.OK {
		t.Errorf("right state: %s (%s)", f.Text, f.Got)
	}
	if f := find(good, privFact); !f.OK {
		t.Errorf("right state: %s (%s)", f.Text, f.Got)
	}
	for name, c := range map[string]struct {
		o      lessons.Observation
		prefix string
	}{
		"root is the host's":     {obs(hostRoot, 1), rootFact},
		"root is no tmpfs":       {obs(m("/", "ext4", "/dev/vdb1", "private"), 1), rootFact},
		"the tmpfs reached /opt": {obs(m("/", "tmpfs", "nslab", "private"), 2), privFact},
		"counts before not known": {func() lessons.Observation {
			o := obs(m("/", "tmpfs", "nslab", "private"), 1)
			delete(o.Extra, mntBoxCounts+mntPrivCopy)
			return o
		}(), privFact},
	} {
		if f := find(mntFacts(c.o), c.prefix); f.OK {
			t.Errorf("%s: %s holds (%s)", name, f.Text, f.Got)
		}
	}
}
