package lessons

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/sandbox"
)

func TestConfinedLocks(t *testing.T) {
	ready := []string{"uts", "time", "mnt", "ipc", "net", "container", "rootfs", "propagation", "user", "overview", "unshare", "nesting"}
	locked := []string{"pid", "cgroup", "setns", "someday"}
	var ls []Lesson
	for _, id := range append(append([]string{}, ready...), locked...) {
		ls = append(ls, Lesson{Meta: Meta{ID: id}})
	}
	locks := ConfinedLocks(ls)
	// Each shown to play confined by its own TestLessonConfined.
	for _, id := range ready {
		if _, isLocked := locks[id]; isLocked {
			t.Errorf("%s, which plays confined (TestLessonConfined), is locked: %q", id, locks[id])
		}
	}
	for _, id := range locked {
		if why := locks[id]; !strings.HasPrefix(why, "not in a class: ") || len(why) < 40 {
			t.Errorf("lock of %s in a class: %q, want a reason", id, why)
		}
	}
	if len(locks) != len(locked) {
		t.Errorf("%d locks: %v", len(locks), locks)
	}
}

// TestKindList: the class server's added kinds, as lessons keep them in
// Extra, read back; an empty list or one naming no kind is refused.
func TestKindList(t *testing.T) {
	s := KindNames(sandbox.CloneNewTime | sandbox.CloneNewUTS)
	if got, ok := KindList(s); !ok || strings.Join(got, ",") != "uts,time" {
		t.Errorf("KindList(%q) = %v %v, want uts,time", s, got, ok)
	}
	for _, bad := range []string{"", "garbage", "uts,garbage", "uts,", "4:4026531836"} {
		if got, ok := KindList(bad); ok {
			t.Errorf("KindList(%q) = %v, accepted", bad, got)
		}
	}
}
