package lessons

import (
	"context"
	"testing"
	"time"
)

func TestCgroupLesson(t *testing.T) {
	needRoot(t)
	t.Cleanup(hostUnchanged(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, _ := playLessonCore(t, ctx, "cgroup", 0)
	challengeRoundTrip(t, ctx, s)
	headlessSolved(t, ctx, "cgroup", 0)
}
