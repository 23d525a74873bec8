package lessons

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/nslab/nslab/sandbox"
	"github.com/nslab/nslab/sandbox/sandboxtest"
)

// rootlessEnv marks the copy of this test binary that runs as nobody.
const rootlessEnv = "NSLAB_TEST_LESSONS_AS_NOBODY"

// TestRootlessLessonsAsNobody plays the lessons of 5–8 marked rootless
// (ipc, user) as nobody, the way a learner without sudo would: a copy of
// this test binary runs under setpriv, and walks each lesson end to end.
func TestRootlessLessonsAsNobody(t *testing.T) {
	if os.Getenv(rootlessEnv) == "1" {
		if os.Geteuid() == 0 {
			t.Fatal("the rootless child runs as root")
		}
		eng, err := sandbox.NewEngine()
		if err != nil {
			t.Fatal(err)
		}
		defer eng.Close()
		for _, id := range []string{"ipc", "user"} {
			t.Run(id, func(t *testing.T) {
				l, err := ByID(id)
				if err != nil {
					t.Fatal(err)
				}
				if !l.Rootless {
					t.Fatalf("lesson %s is not marked rootless", id)
				}
				sess, _ := walkLesson(t, eng, id)
				if err := sess.Close(); err != nil {
					t.Fatal(err)
				}
			})
		}
		return
	}
	needRoot(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skipf("util-linux setpriv is not installed: %v", err)
	}
	if err := exec.Command("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
		"unshare", "--user", "--map-root-user", "--ipc", "--uts", "true").Run(); err != nil {
		t.Skipf("the kernel refuses user namespaces to nobody here: %v", err)
	}
	defer hostUnchanged(t)()

	out, err := sandboxtest.AsNobody(t, "TestRootlessLessonsAsNobody", rootlessEnv+"=1")
	if err != nil {
		t.Fatalf("the lessons as nobody: %v\n%s", err, out)
	}
	t.Logf("as nobody:\n%s", out)
}

func TestUserLesson(t *testing.T) {
	needRoot(t)
	defer hostUnchanged(t)()
	eng, err := sandbox.NewEngine()
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	sess, o := walkLesson(t, eng, "user")
	if right, why := sess.Lesson().Logic.Answer(o); right != 0 {
		t.Errorf("the kernel's answer to the prediction is %d (%s), want 0 (root inside only)", right, why)
	}
	// As root, the agent must be nobody on the host: read it here too,
	// independently of the lesson's own Extra.
	if got := o.Extra[u7OutsideUID]; got != strconv.Itoa(u7Nobody) {
		t.Errorf("agent's uid on the host %q, want %d", got, u7Nobody)
	}
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	headlessSolves(t, eng, "user")
}

func TestParseStatusIDs(t *testing.T) {
	const status = "Name:\tnslab\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n" +
		"Uid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65533\t65534\nGroups:\t\nCapEff:\t000001ffffffffff\n"
	uid, gid, err := parseStatusIDs(status)
	if err != nil || uid != [4]int{65534, 65534, 65534, 65534} || gid != [4]int{65534, 65534, 65533, 65534} {
		t.Fatalf("%v %v %v", uid, gid, err)
	}
	for _, bad := range []string{"", "Name:\tx\n", "Uid:\t0\t0\t0\t0\n", "Uid:\t0\t0\nGid:\t0\t0\t0\t0\n", "Uid:\ta\tb\tc\td\nGid:\t0\t0\t0\t0\n"} {
		if _, _, err := parseStatusIDs(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, _, err := parseStatusIDs("Uid:\t0\nGid:\t0\t0\t0\t0\n"); !errors.Is(err, ErrStatusIDs) {
		t.Errorf("short Uid line: %v", err)
	}
}

func TestFullCaps(t *testing.T) {
	if m, ok := fullCaps("40"); !ok || m != 0x1ffffffffff {
		t.Errorf("40: %#x %v", m, ok)
	}
	for _, bad := range []string{"", "x", "-1", "63"} {
		if _, ok := fullCaps(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestUserFactsEmptyObservation(t *testing.T) {
	for _, f := range userFacts(Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}
