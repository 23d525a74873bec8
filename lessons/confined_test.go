package lessons

import (
	"strings"
	"testing"
)

func TestConfinedLocks(t *testing.T) {
	var ls []Lesson
	// Each of ready plays confined (its TestLessonConfined).
	ready := []string{"uts", "nesting", "unshare", "overview"}
	locked := []string{"pid", "user", "net", "someday"}
	for _, id := range append(locked, ready...) {
		ls = append(ls, Lesson{Meta: Meta{ID: id}})
	}
	locks := ConfinedLocks(ls)
	for _, id := range ready {
		if _, locked := locks[id]; locked {
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
