package cgroup

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"

	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.NeedRoot(t)
	before := cgroupTree(t)
	t.Cleanup(func() {
		// The lesson must create or remove no cgroup on the host.
		if after := cgroupTree(t); !slices.Equal(before, after) {
			t.Errorf("the host's cgroup tree changed:\nbefore %v\nafter  %v", before, after)
		}
	})
	lessontest.Play(t, lessontest.Lesson(t, "cgroup", Logic), lessontest.Want{Right: 0})
}

// cgroupTree lists every cgroup directory of every cgroup mount on the
// host (v1 hierarchies and the unified one).
func cgroupTree(t *testing.T) []string {
	t.Helper()
	ms, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Log("no cgroup file system is mounted on the host")
	}
	var out []string
	for _, m := range ms {
		err := filepath.WalkDir(m.Mountpoint, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil // a cgroup someone else removed meanwhile
				}
				return err
			}
			if d.IsDir() && !engineCgroup(p) {
				out = append(out, strings.TrimPrefix(p, "/sys/fs/cgroup"))
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", m.Mountpoint, err)
		}
	}
	slices.Sort(out)
	return out
}

// engineCgroup reports whether a cgroup belongs to a container engine that
// may be building or running something on this machine at the same time
// (other engineers' docker builds): their cgroups come and go on their own.
func engineCgroup(p string) bool {
	for _, part := range strings.Split(p, "/") {
		for _, pre := range []string{"docker", "containerd", "buildkit", "libpod", "crio"} {
			if strings.HasPrefix(part, pre) {
				return true
			}
		}
	}
	return false
}
