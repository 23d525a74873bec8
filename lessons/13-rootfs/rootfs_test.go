package rootfs

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	lessontest.Play(t, lessontest.Lesson(t, "rootfs", Logic), lessontest.Want{Right: 1, Facts: 9, Wrong: []lessontest.Attempt{
		// Only / itself: the proof needs / and /.., which are the same here.
		{Cmd: "stat -c %d:%i / > /root/proof", Says: "should hold two lines"},
		// A directory bound from the host: its numbers are not the root's.
		{Cmd: "stat -c %d:%i /usr /usr/.. > /root/proof", Says: "the device:inode of / and of /.."},
	}})
}

// TestInside runs the experiments and a few probes in the container's
// shell: each prints something, none solves the challenge, the shell has
// the container's bounding set, /usr is read-only, mount is refused; and
// the check fails on proofs that are wrong in one way each.
func TestInside(t *testing.T) {
	l := lessontest.Lesson(t, "rootfs", Logic)
	s, ctx := lessontest.Performed(t, l)
	box := s.Sandboxes().Box
	sh := func(script string) (string, error) { return lessons.Shell(ctx, box, script) }

	for _, e := range l.Experiments {
		out, _ := sh(e) // some show a refusal: that is their point
		if strings.TrimSpace(out) == "" {
			t.Errorf("experiment %q printed nothing", e)
		}
		if ok, detail, err := s.Check(ctx); err != nil || ok {
			t.Errorf("experiment %q solves the challenge: %v %v %s", e, ok, err, detail)
		}
	}

	out, err := sh("grep CapBnd /proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	got, err := strconv.ParseUint(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "CapBnd:")), 16, 64)
	if err != nil {
		t.Fatalf("CapBnd %q: %v", out, err)
	}
	host, err := capBnd(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	hostBnd, _ := strconv.ParseUint(host, 16, 64)
	if got != rootfsKeep()&hostBnd {
		t.Errorf("the shell's bounding set is %#x, want the container's %#x", got, rootfsKeep()&hostBnd)
	}
	if out, err := sh("touch /usr/nslab-rootfs-test"); !errors.Is(err, lessons.ErrShell) || !strings.Contains(out, "Read-only") {
		t.Errorf("touch in /usr: %v %q, want a read-only file system", err, out)
	}
	if _, err := os.Stat("/usr/nslab-rootfs-test"); err == nil {
		t.Fatal("the container wrote into the host's /usr")
	}
	if out, err := sh("mount -t tmpfs t /tmp"); !errors.Is(err, lessons.ErrShell) || !strings.Contains(strings.ToLower(out), "permission denied") {
		t.Errorf("mount inside: %v %q, want permission denied", err, out)
	}

	root, err := devIno(fmt.Sprintf("/proc/%d/root", box.PID()))
	if err != nil {
		t.Fatal(err)
	}
	hostRoot, err := devIno("/")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, script string }{
		{"one line", "stat -c %d:%i / > /root/proof"},
		{"the host's numbers", fmt.Sprintf("printf '%s\\n%s\\n' > /root/proof", hostRoot, hostRoot)},
		{"a directory's numbers", "stat -c %d:%i /usr /usr > /root/proof"},
	} {
		if _, err := sh(c.script); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ok, detail, err := s.Check(ctx); err != nil || ok || detail == "" {
			t.Errorf("%s: the check passes or says nothing: %v %v %q", c.name, ok, err, detail)
		}
	}
	if _, err := sh(fmt.Sprintf("printf '%s\\n%s\\n' > /root/proof", root, root)); err != nil {
		t.Fatal(err)
	}
	if ok, detail, err := s.Check(ctx); err != nil || !ok {
		t.Errorf("the right numbers: %v %v %s", ok, err, detail)
	}
}

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// the server pivoted the sandbox into a root of its own already, and the
// lesson builds and pivots into a second one.
func TestLessonConfined(t *testing.T) {
	_, o := lessontest.PlayConfined(t, lessontest.Lesson(t, "rootfs", Logic), lessontest.Want{Right: 1, Facts: 10, Wrong: []lessontest.Attempt{
		{Cmd: "stat -c %d:%i / > /root/proof", Says: "should hold two lines"},
		{Cmd: "stat -c %d:%i /usr /usr/.. > /root/proof", Says: "the device:inode of / and of /.."},
	}})
	// The class fact fails where the container started on the host's /,
	// or on the root it has now (no first pivot).
	const second = "in a class the container did not start on the host's /"
	for name, start := range map[string]string{"the host's /": o.Extra[rootfsRootHost], "the container's own /": o.Extra[rootfsRootSB]} {
		bent := o
		bent.Extra = maps.Clone(o.Extra)
		bent.Extra[rootfsRootStart] = start
		found := false
		for _, f := range rootfsFacts(bent) {
			if strings.HasPrefix(f.Text, second) {
				found = true
				if f.OK {
					t.Errorf("holds when the container started on %s: %s", name, f.Got)
				}
			}
		}
		if !found {
			t.Errorf("no fact %q in a class", second)
		}
	}
}
