package pid

import (
	"os"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons/lessontest"
)

// TestExperimentsEveryTime runs the lesson's experiments in the offered
// shell again and again: with the host's /proc inside a PID namespace,
// procps's ps looked itself up by its inner PID and failed whenever the
// host had no process of that number (TestClaimProcOfAnotherPIDNamespace),
// so a suggested ps worked only by luck. What the text promises instead
// must hold every time: /proc/1 is the host's init.
func TestExperimentsEveryTime(t *testing.T) {
	l := lessontest.Lesson(t, "pid", Logic)
	s, ctx := lessontest.Performed(t, l)
	hostInit, err := os.ReadFile("/proc/1/comm")
	if err != nil {
		t.Fatal(err)
	}
	box := s.Sandboxes().Box
	const rounds = 8
	for i := range rounds {
		for _, e := range l.Experiments {
			out, errOut, err := lessontest.InShell(ctx, box, e)
			if err != nil || strings.Contains(out+errOut, "lookup self") {
				t.Fatalf("round %d, %q: %v\n%s%s", i, e, err, out, errOut)
			}
		}
		out, _, err := lessontest.InShell(ctx, box, "cat /proc/1/comm")
		if err != nil || strings.TrimSpace(out) != strings.TrimSpace(string(hostInit)) {
			t.Fatalf("round %d: /proc/1/comm inside reads %q (%v), the host's init is %q", i, out, err, hostInit)
		}
	}
}
