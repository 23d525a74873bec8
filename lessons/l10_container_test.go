package lessons

import (
	"context"
	"testing"
	"time"
)

func TestContainerLesson(t *testing.T) {
	needRoot(t)
	t.Cleanup(hostUnchanged(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s, _ := playLessonCore(t, ctx, "container", 0)
	challengeRoundTrip(t, ctx, s)
	headlessSolved(t, ctx, "container", 0)
}
