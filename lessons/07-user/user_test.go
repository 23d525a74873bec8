package user

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
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

// TestLessonConfined plays the lesson as a class learner (nslab serve):
// the server made the agent's user namespace with a range map, the host's
// namespaces are out of the sandbox's sight (ENOENT), and a user
// namespace nested in the sandbox's shows the capability rule (EPERM).
func TestLessonConfined(t *testing.T) {
	s, o := lessontest.PlayConfined(t, lessontest.Lesson(t, "user", Logic), lessontest.Want{Right: 0, Facts: 11, Wrong: []lessontest.Attempt{
		{Cmd: "unshare --uts hostname userlab", Says: `not "userlab"`},
		{Cmd: "domainname userlab", Says: `not "userlab"`},
	}})
	// The agent's uid on the host, read here from its uid_map as the host
	// sees it, independently of the lesson's Extra.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", s.Sandboxes().Box.PID()))
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(string(b)); len(f) != 3 || f[0] != "0" || f[1] != o.Extra[userOutsideUID] || f[1] == "0" || f[2] == "1" {
		t.Errorf("the agent's uid_map from the host %q; the lesson says its uid outside is %s", b, o.Extra[userOutsideUID])
	}
	holds := func(o lessons.Observation, prefix string) bool {
		t.Helper()
		for _, f := range userFacts(o) {
			if strings.HasPrefix(f.Text, prefix) {
				return f.OK
			}
		}
		t.Fatalf("no fact %q in a class", prefix)
		return false
	}
	for _, c := range []struct {
		name, fact string
		bend       func(o *lessons.Observation)
	}{
		{"a one-id map", "In a class the server made", func(o *lessons.Observation) { o.Sandbox.User.UIDMap[0].Count = 1 }},
		{"root outside", "In a class the server made", func(o *lessons.Observation) { o.Sandbox.User.UIDMap[0].Outside = 0 }},
		{"setgroups deny", "gid_map does the same for gids", func(o *lessons.Observation) { o.Sandbox.User.Setgroups = "deny" }},
		{"nobody outside", "Seen from the host", func(o *lessons.Observation) {
			o.Extra[userOutsideUID] = strconv.Itoa(userNobody)
			o.Sandbox.User.UIDMap[0].Outside = userNobody
		}},
		{"the host's refusal by capability", "The host's namespaces are out of its sight", func(o *lessons.Observation) {
			o.Extra[userJoinHost] = "EPERM"
			o.Extra[userJoinCall] = "setns(5, CLONE_NEWUTS) = -1 EPERM (Operation not permitted)"
		}},
		{"nested root renamed the sandbox", "One level down the rule shows", func(o *lessons.Observation) { o.Extra[userNestedSet] = "(none)" }},
	} {
		u := *o.Sandbox.User
		u.UIDMap = slices.Clone(u.UIDMap)
		bent := o
		bent.Sandbox.User = &u
		bent.Extra = maps.Clone(o.Extra)
		if !holds(bent, c.fact) {
			t.Fatalf("%s: holds before bending", c.fact)
		}
		c.bend(&bent)
		if holds(bent, c.fact) {
			t.Errorf("%q holds with %s", c.fact, c.name)
		}
	}
}
