package cgroup

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"

	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.NeedRoot(t)
	ownCgroup(t)
	before := sandboxtest.CgroupTree(t)
	t.Cleanup(func() {
		// The lesson must create or remove no cgroup on the host.
		if after := sandboxtest.CgroupTree(t); !slices.Equal(before, after) {
			t.Errorf("the host's cgroup tree changed:\nbefore %v\nafter  %v", before, after)
		}
	})
	lessontest.Play(t, lessontest.Lesson(t, "cgroup", Logic), lessontest.Want{Right: 0, Wrong: []lessontest.Attempt{
		// Finding 22: the host's cgroup2 mount, bound again, is not a mount
		// of the namespace's own tree.
		{Cmd: "mount -t cgroup2 cgroup2 /mnt", Says: "no new cgroup2 mount on /sys/fs/cgroup", Undo: "umount /mnt"},
		{Cmd: `mount --bind "$(findmnt -n -o TARGET -t cgroup2 | head -n 1)" /sys/fs/cgroup`, Says: "the host's cgroup tree", Undo: "umount /sys/fs/cgroup"},
	}})
}

// ownCgroup moves the test process into a new child of its cgroup v2
// cgroup, as a container runtime would place a container, until the test
// ends. A cgroup namespace made there has a root that is not the host's,
// so a bind of the host's cgroup2 mount differs from a mount made inside
// even where the test itself runs in the root cgroup.
func ownCgroup(t *testing.T) {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup2"))
	if err != nil || len(ms) == 0 {
		t.Skipf("no cgroup2 mount on the host (%v)", err)
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var mine string
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			mine = p
		}
	}
	if mine == "" {
		t.Skip("no cgroup v2 line in /proc/self/cgroup")
	}
	parent := filepath.Join(ms[0].Mountpoint, mine)
	dir := filepath.Join(parent, "nslab-cgroup-test-"+strconv.Itoa(os.Getpid()))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skipf("cannot make a child cgroup: %v", err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(filepath.Join(parent, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			t.Errorf("move back to %s: %v", parent, err)
		}
		if err := os.Remove(dir); err != nil {
			t.Errorf("remove %s: %v", dir, err)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
		t.Fatalf("move into %s: %v", dir, err)
	}
}
