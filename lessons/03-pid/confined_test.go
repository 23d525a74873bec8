package pid

import (
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

// TestConfinedChallengeDoneBeforehand is why the lesson stays locked in a
// class (lessons.confinedWhy): a class server's sandbox gets a fresh /proc
// of its own PID namespace from the start (the host's would list every
// host process, other learners' among them), so on a confined engine the
// challenge's check passes before the learner did anything, and the fact
// that /proc inside still lists another PID namespace fails. Should the
// engine ever nest a class sandbox's PID namespace below the one its
// /proc belongs to, this fails: then try lessontest.PlayConfined.
func TestConfinedChallengeDoneBeforehand(t *testing.T) {
	s, ctx := lessontest.PerformedConfined(t, lessontest.Lesson(t, "pid", Logic))
	o, err := s.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Facts(o) {
		if strings.HasPrefix(f.Text, "Until a fresh proc is mounted") && f.OK {
			t.Errorf("in a class, /proc inside lists another PID namespace before the challenge: %s (%s)", f.Text, f.Got)
		}
	}
	ok, detail, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Errorf("in a class the challenge is no longer done beforehand (%s): the lesson may now play confined", detail)
	}
}
