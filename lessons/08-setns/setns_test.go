package setns

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
	"github.com/nslab/nslab/sandbox"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// The kernel's answer to the prediction is 2: the joiner's child takes
	// the next PID the target's namespace has not handed out.
	sess, o := lessontest.Play(t, lessontest.Lesson(t, "setns", Logic), lessontest.Want{Right: 2, Wrong: []lessontest.Attempt{
		// Renaming where the shell is renames the target, not the keeper.
		{Cmd: "hostname kept", Says: "the target itself is now named", Undo: "hostname target"},
		// A new UTS namespace of one's own is not the keeper's.
		{Cmd: "unshare --uts hostname kept", Says: "still named"},
	}, Secrets: func(s *lessons.Session) []string {
		// The keeper's host PID is what the learner has to find.
		return []string{s.Sandboxes().Get(setnsKeeperPID)}
	}})
	// After Perform the JOINER column shows the target's UTS and network
	// namespaces (joined), and the host's PID namespace (only children
	// move).
	if err := joinerColumnIs(o, o.Sandbox.IDs, "uts", "net"); err != nil {
		t.Error(err)
	}
	if err := joinerColumnIs(o, o.Host.IDs, "pid", "user"); err != nil {
		t.Error(err)
	}
	// The EINVAL of the wrong nstype and of the user namespace are in the
	// trace the learner sees, from the joiner.
	var einval []string
	for _, e := range sess.Events() {
		if e.Syscall == "setns" && e.Errno == "EINVAL" {
			einval = append(einval, e.String())
		}
	}
	if len(einval) != 2 {
		t.Errorf("want two setns EINVAL events (wrong nstype, user), got %q", einval)
	}
	if joined := strings.Join(einval, " "); !strings.Contains(joined, "CLONE_NEWNET") || !strings.Contains(joined, "CLONE_NEWUSER") {
		t.Errorf("the EINVAL events do not name the nstypes: %q", einval)
	}
}

func TestSetnsFactsEmptyObservation(t *testing.T) {
	for _, f := range setnsFacts(lessons.Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}

// joinerColumnIs reports how the JOINER column of the namespaces view
// differs from want in kinds (nil when it does not).
func joinerColumnIs(o lessons.Observation, want sandbox.IDs, kinds ...string) error {
	col, ok := o.JoinerColumn(sandbox.ViewIDs)
	if !ok {
		return fmt.Errorf("no JOINER column in the namespaces view")
	}
	for _, k := range kinds {
		if want[k].IsZero() || col[k] != want[k].String() {
			return fmt.Errorf("JOINER %s is %q, want %q", k, col[k], want[k].String())
		}
	}
	return nil
}

// TestJoinerColumn: the JOINER column is the joiner as the host sees it,
// before and after it joins: the host's namespaces, then the target's
// for what it joined. Each check is also shown failing on the other state.
func TestJoinerColumn(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := lessons.NewSandboxes(lessontest.Engine(t), lessontest.Lesson(t, "setns", Logic), nil)
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	o, err := r.Observe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if o.Joiner != nil {
		t.Fatal("a JOINER column before there is a joiner")
	}
	joiner, err := r.StartOther(ctx, sandbox.Spec{Label: setnsJoinerLabel})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = r.Observe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := joinerColumnIs(o, o.Host.IDs, "uts", "net", "pid"); err != nil {
		t.Errorf("before the join: %v", err)
	}
	if joinerColumnIs(o, o.Sandbox.IDs, "uts") == nil {
		t.Error("before the join, the JOINER column passes as the target's")
	}
	for _, kind := range []string{"uts", "net"} {
		if err := joiner.Setns(ctx, r.Box.PID(), kind, 0); err != nil {
			t.Fatalf("join %s: %v", kind, err)
		}
	}
	if o, err = r.Observe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := joinerColumnIs(o, o.Sandbox.IDs, "uts", "net"); err != nil {
		t.Errorf("after the join: %v", err)
	}
	if joinerColumnIs(o, o.Host.IDs, "uts") == nil {
		t.Error("after the join, the JOINER column passes as the host's")
	}
	// The hostname row too: the joiner reads the target's.
	if col, _ := o.JoinerColumn(sandbox.ViewUTS); col["hostname"] != o.Sandbox.Hostname {
		t.Errorf("JOINER hostname %q, target %q", col["hostname"], o.Sandbox.Hostname)
	}
}

// TestLessonConfinedRefused shows why the lesson stays locked in a class
// (lessons.ConfinedLocks): on a class learner's engine the joiner and the
// target are sandboxes with user, PID and mount namespaces of their own,
// so the joiner's /proc has no entry for the target, and Perform stops at
// the first join it needs. The host is compared before and after.
func TestLessonConfinedRefused(t *testing.T) {
	lessontest.NeedRoot(t)
	t.Cleanup(lessontest.HostUnchanged(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	s := lessons.NewSession(lessontest.ConfinedEngine(t, "learner"), lessontest.Lesson(t, "setns", Logic), nil)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("session close: %v", err)
		}
	})
	err := s.Perform(ctx)
	if err == nil || !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "join the target's UTS namespace") {
		t.Fatalf("perform on a class learner's engine: %v; want the join refused with ENOENT (if the lesson now works confined, unlock it)", err)
	}
	t.Logf("refused as expected: %v", err)
}
