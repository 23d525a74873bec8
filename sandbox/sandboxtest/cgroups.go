package sandboxtest

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
)

// cgroupPrefix starts the name of every cgroup nslab makes (the sandbox
// package's CgroupPrefix, which this package may not import).
const cgroupPrefix = "nslab-"

// CgroupTree lists every cgroup directory of every cgroup file system
// mounted in the calling thread's mount namespace (the v1 hierarchies and
// the unified one), each as "mountpoint:path", leaving out container
// engines' cgroups, which come and go on their own. A hierarchy mounted
// twice is listed twice.
func CgroupTree(tb testing.TB) []string {
	tb.Helper()
	ms, err := mountinfo.GetMounts(func(i *mountinfo.Info) (skip, stop bool) {
		return i.FSType != "cgroup" && i.FSType != "cgroup2", false
	})
	if err != nil {
		tb.Fatalf("cgroup mounts: %v", err)
	}
	var out []string
	for _, m := range ms {
		err := filepath.WalkDir(m.Mountpoint, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // a cgroup someone else removed meanwhile
				}
				return err
			}
			if !d.IsDir() {
				return nil
			}
			rel := strings.TrimPrefix(p, m.Mountpoint)
			if engineCgroup(rel) {
				return fs.SkipDir
			}
			out = append(out, m.Mountpoint+":"+rel)
			return nil
		})
		if err != nil {
			tb.Fatalf("walk %s: %v", m.Mountpoint, err)
		}
	}
	slices.Sort(out)
	return out
}

// nslabCgroups are the cgroups of CgroupTree that nslab (or a test of
// its) made: a path element starts with "nslab-".
func nslabCgroups(tree []string) []string {
	var out []string
	for _, c := range tree {
		_, rel, _ := strings.Cut(c, ":")
		if strings.Contains(rel, "/"+cgroupPrefix) {
			out = append(out, c)
		}
	}
	return out
}

// engineCgroup reports whether a cgroup belongs to a container engine that
// may be building or running something on this machine at the same time
// (other engineers' docker builds).
func engineCgroup(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		for _, pre := range []string{"docker", "containerd", "buildkit", "libpod", "crio", "machine.slice"} {
			if strings.HasPrefix(part, pre) {
				return true
			}
		}
	}
	return false
}
