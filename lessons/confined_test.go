package lessons

import (
	"strings"
	"testing"
)

func TestConfinedLocks(t *testing.T) {
	var ls []Lesson
	for _, id := range []string{"overview", "uts", "pid", "user", "net", "someday", "time", "mnt", "ipc"} {
		ls = append(ls, Lesson{Meta: Meta{ID: id}})
	}
	locks := ConfinedLocks(ls)
	for _, id := range []string{"uts", "time", "mnt", "ipc", "net"} {
		if _, locked := locks[id]; locked {
			t.Errorf("%s, which plays confined (TestLessonConfined), is locked: %q", id, locks[id])
		}
	}
	for _, id := range []string{"overview", "pid", "user", "someday"} {
		if why := locks[id]; !strings.HasPrefix(why, "not in a class: ") || len(why) < 40 {
			t.Errorf("lock of %s in a class: %q, want a reason", id, why)
		}
	}
	if len(locks) != 4 {
		t.Errorf("%d locks: %v", len(locks), locks)
	}
}
