package user

import (
	"errors"
	"strconv"
	"testing"

	"github.com/nslab/nslab/lessons"
	"github.com/nslab/nslab/lessons/lessontest"
)

func TestMain(m *testing.M) { lessontest.Main(m) }

func TestLesson(t *testing.T) {
	// The kernel's answer to the prediction is 0: root inside only.
	_, o := lessontest.Play(t, lessontest.Lesson(t, "user", Logic), lessontest.Want{Right: 0, Wrong: []lessontest.Attempt{
		{Cmd: "unshare --uts hostname userlab", Says: `not "userlab"`},
		{Cmd: "domainname userlab", Says: `not "userlab"`},
	}})
	// As root, the agent must be nobody on the host: read it here too,
	// independently of the lesson's own Extra.
	if got := o.Extra[userOutsideUID]; got != strconv.Itoa(userNobody) {
		t.Errorf("agent's uid on the host %q, want %d", got, userNobody)
	}
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
	for _, f := range userFacts(lessons.Observation{Extra: map[string]string{}}) {
		if f.OK {
			t.Errorf("fact holds on an empty observation: %s (%s)", f.Text, f.Got)
		}
	}
}
